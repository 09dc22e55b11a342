// A Linear layer (y = x Wᵀ + b) whose matrix products are split across torch's intra-op threads
// on the CPU. ATen hands a Linear's product to BLAS in one call, and the trainer pins OpenBLAS to
// one thread (its own thread pool fights ATen's OpenMP threads on small hosts, see
// docs/performance.md), so with two or more torch threads every Linear ran on one core while the
// others waited. Here the rows of x (forward, grad of x) and the rows of W (grad of W) are split
// into one BLAS call per thread. Float32 CPU tensors big enough to amortise the split take this
// path; anything else (CUDA, other dtypes, one thread, small inputs) is torch's linear.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_MODEL_PARALLEL_LINEAR_H_
#define JEPALAB_TRAINER_SERVICE_CORE_MODEL_PARALLEL_LINEAR_H_

#include <torch/types.h>

namespace jepalab::trainer {

// x [..., in], weight [out, in], bias [out] or undefined -> [..., out]; differentiable in all
// three.
torch::Tensor ParallelLinear(const torch::Tensor& x, const torch::Tensor& weight,
                             const torch::Tensor& bias);

// Pins OpenBLAS to one thread (a no-op with another BLAS). Debian's BLAS is the pthread OpenBLAS,
// whose own pool of one thread per core competes with ATen's OpenMP threads for the same cores:
// on 2 cores the mini run was 2x slower with 2 threads than with 1 (docs/performance.md). ATen,
// and ParallelLinear, parallelise around the BLAS calls instead.
void UseSingleThreadedBlas();

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_MODEL_PARALLEL_LINEAR_H_
