{
  "targets": [
    {
      "target_name": "afxdp_shim",
      "sources": ["addon.cc", "port.cc", "program.cc", "privileges.cc", "admission.c"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lxdp", "-lbpf"]
    }
  ]
}
