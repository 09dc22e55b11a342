"""Proto and gRPC C++ code generation with the system protoc and grpc_cpp_plugin (no downloads)."""

_PROTOC = "/usr/bin/protoc"
_GRPC_PLUGIN = "/usr/bin/grpc_cpp_plugin"

def jepalab_proto_library(name, srcs, deps = [], grpc = False, grpc_visibility = None):
    """Generates `<name>_proto` (the .proto files, transitive), `<name>_cc_proto` and, with
    grpc = True, `<name>_cc_grpc`.

    Args:
      name: base name, e.g. "trainer".
      srcs: .proto files in this package.
      deps: base labels of other jepalab_proto_library targets whose protos these import.
      grpc: also generate gRPC service stubs.
      grpc_visibility: visibility of `<name>_cc_grpc` (the gRPC layer only, see STYLE.md).
    """
    native.filegroup(
        name = name + "_proto",
        srcs = srcs + [d + "_proto" for d in deps],
        visibility = ["//visibility:public"],
    )
    stems = [s[:-len(".proto")] for s in srcs]
    locations = " ".join(["$(location %s)" % s for s in srcs])
    native.genrule(
        name = name + "_cc_codegen",
        srcs = srcs + [d + "_proto" for d in deps],
        outs = [s + ".pb.h" for s in stems] + [s + ".pb.cc" for s in stems],
        cmd = "%s -I. --cpp_out=$(GENDIR) %s" % (_PROTOC, locations),
    )
    native.cc_library(
        name = name + "_cc_proto",
        srcs = [s + ".pb.cc" for s in stems],
        hdrs = [s + ".pb.h" for s in stems],
        deps = [d + "_cc_proto" for d in deps] + ["//third_party:protobuf"],
        visibility = ["//visibility:public"],
    )
    if grpc:
        native.genrule(
            name = name + "_grpc_codegen",
            srcs = srcs + [d + "_proto" for d in deps],
            outs = [s + ".grpc.pb.h" for s in stems] + [s + ".grpc.pb.cc" for s in stems],
            cmd = "%s -I. --grpc_out=$(GENDIR) --plugin=protoc-gen-grpc=%s %s" % (
                _PROTOC,
                _GRPC_PLUGIN,
                locations,
            ),
        )
        native.cc_library(
            name = name + "_cc_grpc",
            srcs = [s + ".grpc.pb.cc" for s in stems],
            hdrs = [s + ".grpc.pb.h" for s in stems],
            deps = [":" + name + "_cc_proto", "//third_party:grpc"],
            visibility = grpc_visibility or ["//visibility:public"],
        )
