{
  "targets": [
    {
      "target_name": "afxdp_gen",
      "sources": ["addon.cc", "gen.cc", "tx.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "../../bpf/tools"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lxdp", "-lbpf"]
    }
  ]
}
