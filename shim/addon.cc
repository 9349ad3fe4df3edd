// The Node-API face of the shim. No packet logic lives here.
#include <napi.h>
#include <bpf/libbpf.h>

static Napi::Value Versions(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("libbpf", libbpf_version_string());
  return out;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("versions", Napi::Function::New(env, Versions));
  return exports;
}

NODE_API_MODULE(afxdp_shim, Init)
