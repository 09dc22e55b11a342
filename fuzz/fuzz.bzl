"""One libFuzzer target, built two ways from the same source (see docs/fuzzing.md)."""

def jepalab_fuzz_target(name, srcs, deps):
    """Declares `<name>_lib`, `<name>` and `<name>_test`.

    `<name>` is the fuzzer itself under `--config=fuzz` (clang, linked with -fsanitize=fuzzer),
    and a corpus replayer otherwise, so `bazel build //...` links it with gcc too.
    `<name>_test` replays the whole seed corpus `corpus/<name>/` through
    LLVMFuzzerTestOneInput: the CI smoke run.

    Args:
      name: target name, e.g. "arc_task_fuzzer"; its corpus lives in corpus/<name>/.
      srcs: the .cc file defining LLVMFuzzerTestOneInput.
      deps: the libraries it exercises (plain C++, never LibTorch).
    """
    native.cc_library(
        name = name + "_lib",
        srcs = srcs,
        deps = deps + [":fuzz_check"],
        alwayslink = True,
    )
    native.cc_binary(
        name = name,
        deps = [":" + name + "_lib"] + select({
            ":libfuzzer": [],
            "//conditions:default": [":replay_main"],
        }),
        linkopts = select({
            ":libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
    )
    native.cc_test(
        name = name + "_test",
        size = "small",
        args = ["fuzz/corpus/" + name],
        data = native.glob(["corpus/%s/*" % name]),
        deps = [":" + name + "_lib", ":replay_main"],
    )
