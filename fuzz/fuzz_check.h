// FUZZ_CHECK: an invariant of a fuzz target. Failing it aborts, which libFuzzer reports as a
// crash (with the input saved) and the replay test as a failure.
#ifndef JEPALAB_FUZZ_FUZZ_CHECK_H_
#define JEPALAB_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(condition, detail)                                                             \
  do {                                                                                            \
    if (!(condition)) {                                                                           \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s (%s)\n", __FILE__, __LINE__, #condition, \
                   std::string(detail).c_str());                                                  \
      std::abort();                                                                               \
    }                                                                                             \
  } while (0)

#endif  // JEPALAB_FUZZ_FUZZ_CHECK_H_
