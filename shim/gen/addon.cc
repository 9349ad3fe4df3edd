// The Node-API face of the load generator (afxdp-wasm gen): its XDP programs
// and reply sink (gen.h), and its paced AF_XDP sender (tx.h). One of each per
// process is plenty; the generator is one process per run.
#include <napi.h>

#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <string>

#include <bpf/libbpf.h>

#include "gen.h"
#include "tx.h"

namespace
{

struct gen *generator = nullptr;
struct gen_tx *sender = nullptr;

// libbpf's last warning, for the error when loading fails (it would print on stderr otherwise).
std::string last_warning;

int keep_warning(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char buf[512];
	if (level != LIBBPF_WARN)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, args);
	last_warning = buf;
	while (!last_warning.empty() && last_warning.back() == '\n')
		last_warning.pop_back();
	return 0;
}

void throw_errno(Napi::Env env, int err, const std::string &what)
{
	Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err < 0 ? -err : err));
	e.Set("errno", Napi::Number::New(env, err < 0 ? -err : err));
	e.ThrowAsJavaScriptException();
}

int ifindex_of(const Napi::Value &v)
{
	std::string ifname = v.As<Napi::String>();
	return static_cast<int>(if_nametoindex(ifname.c_str()));
}

// open(objPath): loads xdp_gen.o.
Napi::Value Open(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	std::string path = info[0].As<Napi::String>();
	int err = generator ? 0 : gen_open(path.c_str(), &generator);
	if (err)
		throw_errno(env, err, "cannot load " + path + (last_warning.empty() ? "" : " (" + last_warning + ")"));
	return env.Undefined();
}

// run(ifname, frame: Uint8Array, repeat, batch): blocks while the kernel transmits.
Napi::Value Run(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	int ifindex = ifindex_of(info[0]);
	Napi::Uint8Array frame = info[1].As<Napi::Uint8Array>();
	uint32_t repeat = info[2].As<Napi::Number>().Uint32Value();
	uint32_t batch = info[3].As<Napi::Number>().Uint32Value();
	if (!generator || !ifindex) {
		throw_errno(env, ENODEV, "generator not open or no such interface");
		return env.Undefined();
	}
	int err = gen_run(generator, ifindex, frame.Data(), frame.ByteLength(), repeat, batch);
	if (err)
		throw_errno(env, err, "BPF_PROG_RUN (live frames)");
	return env.Undefined();
}

// sink(ifname, attach) -> whether it worked; attaching throws instead.
Napi::Value Sink(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	int ifindex = ifindex_of(info[0]);
	bool attach = info[1].ToBoolean();
	if (!generator || !ifindex)
		return Napi::Boolean::New(env, false);
	int err = attach ? gen_sink_attach(generator, ifindex) : gen_sink_detach(generator, ifindex);
	if (err && attach)
		throw_errno(env, err, "cannot attach the reply sink");
	return Napi::Boolean::New(env, err == 0);
}

Napi::Value Reset(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	int err = generator ? gen_sink_reset(generator) : -ENODEV;
	if (err)
		throw_errno(env, err, "cannot reset the reply sink");
	return env.Undefined();
}

Napi::Value Counts(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	uint64_t replies = 0, other = 0;
	if (generator)
		gen_sink_counts(generator, &replies, &other);
	Napi::Object o = Napi::Object::New(env);
	o.Set("replies", Napi::Number::New(env, (double)replies));
	o.Set("other", Napi::Number::New(env, (double)other));
	return o;
}

// latency() -> { samples, p50Ns, p90Ns, p99Ns, p999Ns, maxNs } (percentiles 0 without samples)
Napi::Value Latency(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	struct gen_latency l = {};
	int err = generator ? gen_sink_latency(generator, &l) : -ENODEV;
	if (err) {
		throw_errno(env, err, "cannot read the round-trip histogram");
		return env.Undefined();
	}
	Napi::Object o = Napi::Object::New(env);
	o.Set("samples", Napi::Number::New(env, (double)l.samples));
	o.Set("p50Ns", Napi::Number::New(env, (double)l.p50_ns));
	o.Set("p90Ns", Napi::Number::New(env, (double)l.p90_ns));
	o.Set("p99Ns", Napi::Number::New(env, (double)l.p99_ns));
	o.Set("p999Ns", Napi::Number::New(env, (double)l.p999_ns));
	o.Set("maxNs", Napi::Number::New(env, (double)l.max_ns));
	return o;
}

// txOpen(ifname, queue, frame: Uint8Array): the paced sender's socket.
Napi::Value TxOpen(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	std::string ifname = info[0].As<Napi::String>();
	uint32_t queue = info[1].As<Napi::Number>().Uint32Value();
	Napi::Uint8Array frame = info[2].As<Napi::Uint8Array>();
	const char *step = "";
	int err = sender ? 0 : gen_tx_open(ifname.c_str(), queue, frame.Data(), frame.ByteLength(), &sender, &step);
	if (err)
		throw_errno(env, err, std::string("cannot ") + step);
	return env.Undefined();
}

// txPaced(rate, seconds, maxLag) -> { sent, skipped, stalls, worstLag }; blocks for that long.
Napi::Value TxPaced(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	double rate = info[0].As<Napi::Number>().DoubleValue();
	double seconds = info[1].As<Napi::Number>().DoubleValue();
	double max_lag = info[2].As<Napi::Number>().DoubleValue();
	if (!sender || !(rate > 0) || !(seconds > 0) || !(max_lag >= 0)) {
		Napi::Error::New(env, "txPaced wants an open sender, a rate, a duration and a lag bound")
			.ThrowAsJavaScriptException();
		return env.Undefined();
	}
	struct gen_pace pace;
	gen_tx_paced(sender, rate, (uint64_t)(seconds * 1e9), (uint64_t)max_lag, &pace);
	Napi::Object o = Napi::Object::New(env);
	o.Set("sent", Napi::Number::New(env, (double)pace.sent));
	o.Set("skipped", Napi::Number::New(env, (double)pace.skipped));
	o.Set("stalls", Napi::Number::New(env, (double)pace.stalls));
	o.Set("worstLag", Napi::Number::New(env, (double)pace.worst_lag));
	return o;
}

Napi::Value TxClose(const Napi::CallbackInfo &info)
{
	if (sender)
		gen_tx_close(sender);
	sender = nullptr;
	return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports)
{
	libbpf_set_print(keep_warning);
	exports.Set("open", Napi::Function::New(env, Open));
	exports.Set("run", Napi::Function::New(env, Run));
	exports.Set("sink", Napi::Function::New(env, Sink));
	exports.Set("reset", Napi::Function::New(env, Reset));
	exports.Set("counts", Napi::Function::New(env, Counts));
	exports.Set("latency", Napi::Function::New(env, Latency));
	exports.Set("txOpen", Napi::Function::New(env, TxOpen));
	exports.Set("txPaced", Napi::Function::New(env, TxPaced));
	exports.Set("txClose", Napi::Function::New(env, TxClose));
	return exports;
}

} // namespace

NODE_API_MODULE(afxdp_gen, Init)
