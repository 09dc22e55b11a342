// JSON (nested number arrays, as in ../shared/reference/golden) to LibTorch tensors, plus the
// rtol/atol comparison the golden README prescribes. Test-only, header-only.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_TESTING_GOLDEN_TENSOR_H_
#define JEPALAB_TRAINER_SERVICE_CORE_TESTING_GOLDEN_TENSOR_H_

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace jepalab::trainer::testing {

namespace golden_internal {
inline void Flatten(const nlohmann::json& j, std::vector<double>& values,
                    std::vector<int64_t>& shape, size_t depth) {
  if (j.is_array()) {
    if (shape.size() <= depth) shape.push_back(static_cast<int64_t>(j.size()));
    for (const auto& e : j) Flatten(e, values, shape, depth + 1);
  } else if (j.is_null()) {
    values.push_back(std::nan(""));
  } else {
    values.push_back(j.get<double>());  // accepts `1` and `1.0`
  }
}
}  // namespace golden_internal

// A nested array (or a scalar) as a tensor of `dtype`. Each value is parsed as a double and cast,
// which reproduces the exact float32 inputs of the goldens. An empty array gives shape [0].
inline torch::Tensor JsonTensor(const nlohmann::json& j, torch::Dtype dtype = torch::kFloat32) {
  std::vector<double> values;
  std::vector<int64_t> shape;
  golden_internal::Flatten(j, values, shape, 0);
  torch::Tensor t = torch::tensor(values, torch::kFloat64);
  return t.reshape(shape).to(dtype);
}

inline std::vector<int64_t> JsonInts(const nlohmann::json& j) {
  std::vector<int64_t> v;
  for (const auto& e : j) v.push_back(e.get<int64_t>());
  return v;
}

// Largest |actual - expected| and the largest excess over atol + rtol*|expected| (<= 0: passes).
struct Closeness {
  double max_abs_error = 0;
  double max_excess = -1;
  double tolerance_used = 0;  // max |error| / (atol + rtol*|expected|): <= 1 passes
};

inline Closeness CompareClose(const torch::Tensor& actual, const torch::Tensor& expected,
                              double rtol, double atol) {
  const torch::Tensor a = actual.detach().to(torch::kFloat64).reshape(-1);
  const torch::Tensor e = expected.detach().to(torch::kFloat64).reshape(-1);
  Closeness c;
  if (a.numel() == 0) return c;
  const torch::Tensor err = (a - e).abs();
  c.max_abs_error = err.max().item<double>();
  const torch::Tensor allowed = atol + rtol * e.abs();
  c.max_excess = (err - allowed).max().item<double>();
  c.tolerance_used = (err / allowed).max().item<double>();
  return c;
}

// gtest assertion: same number of elements and every element within atol + rtol*|expected|.
inline ::testing::AssertionResult AllClose(const torch::Tensor& actual,
                                           const torch::Tensor& expected, double rtol,
                                           double atol) {
  if (actual.numel() != expected.numel()) {
    return ::testing::AssertionFailure()
           << "numel " << actual.numel() << " != " << expected.numel();
  }
  const Closeness c = CompareClose(actual, expected, rtol, atol);
  if (c.max_excess <= 0) return ::testing::AssertionSuccess();
  std::ostringstream os;
  os << "max |error| " << c.max_abs_error << " exceeds atol " << atol << " + rtol " << rtol
     << "*|expected| by " << c.max_excess << "\nactual:\n"
     << actual.detach().reshape(expected.sizes()) << "\nexpected:\n"
     << expected;
  return ::testing::AssertionFailure() << os.str();
}

// AllClose plus one line on stdout, "GOLDEN <label> max_abs_err=<e> rtol=<r> atol=<a>", so the
// test log records how close every golden field came.
inline ::testing::AssertionResult GoldenClose(const std::string& label, const torch::Tensor& actual,
                                              const torch::Tensor& expected, double rtol,
                                              double atol) {
  if (actual.numel() == expected.numel()) {
    const Closeness c = CompareClose(actual, expected, rtol, atol);
    std::printf("GOLDEN %s max_abs_err=%.3g tolerance_used=%.3f rtol=%g atol=%g%s\n", label.c_str(),
                c.max_abs_error, c.tolerance_used, rtol, atol, c.max_excess <= 0 ? "" : " FAIL");
  }
  return AllClose(actual, expected, rtol, atol) << " [" << label << "]";
}

}  // namespace jepalab::trainer::testing

#endif  // JEPALAB_TRAINER_SERVICE_CORE_TESTING_GOLDEN_TENSOR_H_
