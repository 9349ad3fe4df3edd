// The Node-API face of the shim: open/step/wait/close a port, ask the kernel
// which XDP program an interface runs, detach it. No packet logic lives here.
//
// Ports are opened on the main thread and stepped by a worker thread; both
// name a port by a small integer, so no raw pointer crosses into JavaScript.
#include <napi.h>

#include <errno.h>
#include <mutex>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <xdp/libxdp.h>

#include "port.h"
#include "program.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

namespace {

constexpr int MAX_PORTS = 256;

struct Slot {
	port *p = nullptr;
	Napi::Reference<Napi::Uint8Array> memory; // keeps the wasm memory alive while the socket uses it
};

std::mutex slots_lock;
Slot slots[MAX_PORTS];

// libxdp and libbpf talk on stderr; we keep what they say for --verbose and errors.
std::mutex log_lock;
std::vector<std::string> log_lines;

int capture(const char *fmt, va_list args)
{
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, args);
	std::string line(buf);
	while (!line.empty() && line.back() == '\n')
		line.pop_back();
	std::lock_guard<std::mutex> g(log_lock);
	if (log_lines.size() < 1000)
		log_lines.push_back(line);
	return 0;
}

int capture_libxdp(enum libxdp_print_level, const char *fmt, va_list args) { return capture(fmt, args); }
int capture_libbpf(enum libbpf_print_level, const char *fmt, va_list args) { return capture(fmt, args); }

Napi::Error errno_error(Napi::Env env, int err, const std::string &what)
{
	Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err < 0 ? -err : err));
	e.Set("errno", Napi::Number::New(env, err < 0 ? -err : err));
	return e;
}

uint32_t u32(const Napi::Object &o, const char *key)
{
	return o.Get(key).As<Napi::Number>().Uint32Value();
}

port *port_of(const Napi::CallbackInfo &info)
{
	uint32_t id = info[0].As<Napi::Number>().Uint32Value();
	return id < MAX_PORTS ? slots[id].p : nullptr;
}

// open({ ifname, queue, memory: Uint8Array, umemOffset, frameSize, frames, ringSize,
//        batchOffset, batchMax, countersOffset, xdpFlags, bindFlags, inhibitProgLoad }) -> id
Napi::Value Open(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	Napi::Object o = info[0].As<Napi::Object>();
	Napi::Uint8Array mem = o.Get("memory").As<Napi::Uint8Array>();
	// A SharedArrayBuffer is refused by napi_get_arraybuffer_info on Node 20,
	// so find the memory's base through the view instead.
	void *data = nullptr;
	size_t length = 0, offset = 0;
	napi_typedarray_type type;
	napi_value ab;
	if (napi_get_typedarray_info(env, mem, &type, &length, &data, &ab, &offset) != napi_ok) {
		Napi::TypeError::New(env, "memory must be a Uint8Array over the whole wasm memory").ThrowAsJavaScriptException();
		return env.Undefined();
	}
	std::string ifname = o.Get("ifname").As<Napi::String>();
	port_config cfg = {};
	cfg.ifname = ifname.c_str();
	cfg.queue = u32(o, "queue");
	cfg.memory = static_cast<uint8_t *>(data) - offset;
	cfg.memory_size = length + offset;
	cfg.umem_offset = u32(o, "umemOffset");
	cfg.frame_size = u32(o, "frameSize");
	cfg.frames = u32(o, "frames");
	cfg.ring_size = u32(o, "ringSize");
	cfg.batch_offset = u32(o, "batchOffset");
	cfg.batch_max = u32(o, "batchMax");
	cfg.counters_offset = u32(o, "countersOffset");
	cfg.xdp_flags = u32(o, "xdpFlags");
	cfg.bind_flags = static_cast<uint16_t>(u32(o, "bindFlags"));
	cfg.inhibit_prog_load = o.Get("inhibitProgLoad").ToBoolean();
	cfg.busy_poll_us = o.Has("busyPollUs") ? u32(o, "busyPollUs") : 0;

	std::lock_guard<std::mutex> g(slots_lock);
	int id = 0;
	while (id < MAX_PORTS && slots[id].p)
		id++;
	if (id == MAX_PORTS) {
		Napi::Error::New(env, "too many open ports").ThrowAsJavaScriptException();
		return env.Undefined();
	}
	const char *step = "";
	port *p = nullptr;
	int err = port_open(&cfg, &p, &step);
	if (err) {
		errno_error(env, err, std::string("cannot ") + step).ThrowAsJavaScriptException();
		return env.Undefined();
	}
	slots[id].p = p;
	slots[id].memory = Napi::Persistent(mem);
	return Napi::Number::New(env, id);
}

Napi::Value Step(const Napi::CallbackInfo &info)
{
	port *p = port_of(info);
	return Napi::Number::New(info.Env(), p ? port_step(p) : 0);
}

Napi::Value AbortBatch(const Napi::CallbackInfo &info)
{
	port *p = port_of(info);
	return Napi::Number::New(info.Env(), p ? port_abort_batch(p) : 0);
}

Napi::Value Settle(const Napi::CallbackInfo &info)
{
	port *p = port_of(info);
	if (p)
		port_settle(p);
	return info.Env().Undefined();
}

// Before sleeping, each port settles its last batch, so no reply waits out the sleep.
// With coalesce_us > 0, a wake-up that finds less than a full batch sleeps that
// much longer when the arrival rate makes it worth it, so RX gathers into
// batches (as a NIC's adaptive rx-usecs does) and one wake-up, one handler
// call and one TX kick serve many packets.
static int wait_ports(port *const *ps, uint32_t n, int timeout_ms, uint32_t coalesce_us)
{
	struct pollfd fds[MAX_PORTS];
	uint32_t waiting = 0;
	for (uint32_t i = 0; i < n; i++) {
		port_flush(ps[i]);
		fds[i] = { port_fd(ps[i]), POLLIN, 0 };
		waiting += port_rx_waiting(ps[i]);
	}
	int ready = waiting ? 1 : poll(fds, n, timeout_ms);
	if (ready > 0 && coalesce_us) {
		// Judged after poll(), so time spent idle in it counts against the rate.
		bool nap = false, full = false;
		for (uint32_t i = 0; i < n; i++) {
			nap |= port_worth_napping(ps[i], coalesce_us);
			full |= port_rx_waiting(ps[i]) >= port_batch_max(ps[i]);
		}
		if (nap && !full)
			nap_us(coalesce_us);
	}
	return ready;
}

// wait(port, timeoutMs, coalesceUs)
Napi::Value Wait(const Napi::CallbackInfo &info)
{
	port *p = port_of(info);
	int timeout = info[1].As<Napi::Number>().Int32Value();
	uint32_t coalesce = info.Length() > 2 ? info[2].As<Napi::Number>().Uint32Value() : 0;
	return Napi::Number::New(info.Env(), p ? wait_ports(&p, 1, timeout, coalesce) : -1);
}

// waitAny([ports], timeoutMs, coalesceUs): the same over several ports.
Napi::Value WaitAny(const Napi::CallbackInfo &info)
{
	Napi::Array ids = info[0].As<Napi::Array>();
	int timeout = info[1].As<Napi::Number>().Int32Value();
	uint32_t coalesce = info.Length() > 2 ? info[2].As<Napi::Number>().Uint32Value() : 0;
	port *ps[MAX_PORTS];
	uint32_t n = 0;
	for (uint32_t i = 0; i < ids.Length() && n < MAX_PORTS; i++) {
		uint32_t id = ids.Get(i).As<Napi::Number>().Uint32Value();
		if (id < MAX_PORTS && slots[id].p)
			ps[n++] = slots[id].p;
	}
	return Napi::Number::New(info.Env(), wait_ports(ps, n, timeout, coalesce));
}

Napi::Value Close(const Napi::CallbackInfo &info)
{
	uint32_t id = info[0].As<Napi::Number>().Uint32Value();
	std::lock_guard<std::mutex> g(slots_lock);
	if (id < MAX_PORTS && slots[id].p) {
		port_close(slots[id].p);
		slots[id].p = nullptr;
		slots[id].memory.Reset();
	}
	return info.Env().Undefined();
}

// The kernel's own view of the socket (struct xdp_statistics).
Napi::Value Statistics(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	port *p = port_of(info);
	if (!p)
		return env.Null();
	struct xdp_statistics st = {};
	socklen_t len = sizeof(st);
	if (getsockopt(port_fd(p), SOL_XDP, XDP_STATISTICS, &st, &len)) {
		errno_error(env, errno, "XDP_STATISTICS").ThrowAsJavaScriptException();
		return env.Undefined();
	}
	Napi::Object o = Napi::Object::New(env);
	o.Set("rx_dropped", Napi::Number::New(env, st.rx_dropped));
	o.Set("rx_invalid_descs", Napi::Number::New(env, st.rx_invalid_descs));
	o.Set("tx_invalid_descs", Napi::Number::New(env, st.tx_invalid_descs));
	o.Set("rx_ring_full", Napi::Number::New(env, st.rx_ring_full));
	o.Set("rx_fill_ring_empty_descs", Napi::Number::New(env, st.rx_fill_ring_empty_descs));
	o.Set("tx_ring_empty_descs", Napi::Number::New(env, st.tx_ring_empty_descs));
	return o;
}

int ifindex_of(const Napi::CallbackInfo &info)
{
	std::string ifname = info[0].As<Napi::String>();
	return static_cast<int>(if_nametoindex(ifname.c_str()));
}

// xdpQuery(ifname) -> { id, name, mode } | null
Napi::Value XdpQuery(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	int ifindex = ifindex_of(info);
	if (!ifindex) {
		errno_error(env, ENODEV, "no such interface").ThrowAsJavaScriptException();
		return env.Undefined();
	}
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err = bpf_xdp_query(ifindex, 0, &q);
	if (err) {
		errno_error(env, err, "cannot query XDP").ThrowAsJavaScriptException();
		return env.Undefined();
	}
	if (q.attach_mode == XDP_ATTACHED_NONE)
		return env.Null();
	uint32_t id = q.prog_id ? q.prog_id : q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id ? q.skb_prog_id : q.hw_prog_id;
	const char *mode = q.attach_mode == XDP_ATTACHED_DRV ? "native" : q.attach_mode == XDP_ATTACHED_SKB ? "skb"
			 : q.attach_mode == XDP_ATTACHED_HW ? "hw" : "multi";
	Napi::Object o = Napi::Object::New(env);
	o.Set("id", Napi::Number::New(env, id));
	o.Set("mode", Napi::String::New(env, mode));
	int fd = bpf_prog_get_fd_by_id(id);
	if (fd >= 0) {
		struct bpf_prog_info pi = {};
		uint32_t len = sizeof(pi);
		if (!bpf_obj_get_info_by_fd(fd, &pi, &len))
			o.Set("name", Napi::String::New(env, pi.name));
		close(fd);
	}
	return o;
}

// xdpDetach(ifname, progId, mode) -> true when that program was attached and is now gone.
// Detaches only if progId is still the one attached (XDP_FLAGS_REPLACE), so it can never
// remove a program someone attached after we looked.
Napi::Value XdpDetach(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	int ifindex = ifindex_of(info);
	uint32_t id = info[1].As<Napi::Number>().Uint32Value();
	std::string mode = info[2].As<Napi::String>();
	if (!ifindex)
		return Napi::Boolean::New(env, false);
	int fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return Napi::Boolean::New(env, false);
	uint32_t flags = XDP_FLAGS_REPLACE | (mode == "skb" ? XDP_FLAGS_SKB_MODE : mode == "hw" ? XDP_FLAGS_HW_MODE : XDP_FLAGS_DRV_MODE);
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = fd);
	int err = bpf_xdp_detach(ifindex, flags, &opts);
	close(fd);
	return Napi::Boolean::New(env, err == 0);
}

constexpr int MAX_PROGRAMS = 16;
loaded_program programs[MAX_PROGRAMS];

// loadProgram(ifname, filename, progname, xdpFlags) -> { handle, id, name }
Napi::Value LoadProgram(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	int ifindex = ifindex_of(info);
	std::string filename = info[1].As<Napi::String>();
	std::string progname = info[2].As<Napi::String>();
	uint32_t flags = info[3].As<Napi::Number>().Uint32Value();
	if (!ifindex) {
		errno_error(env, ENODEV, "no such interface").ThrowAsJavaScriptException();
		return env.Undefined();
	}
	std::lock_guard<std::mutex> g(slots_lock);
	int handle = 0;
	while (handle < MAX_PROGRAMS && programs[handle].prog)
		handle++;
	if (handle == MAX_PROGRAMS) {
		Napi::Error::New(env, "too many programs").ThrowAsJavaScriptException();
		return env.Undefined();
	}
	const char *why = "";
	int err = program_load(filename.c_str(), progname.c_str(), ifindex, flags, &programs[handle], &why);
	if (err) {
		Napi::Error e = errno_error(env, err, std::string("cannot ") + why);
		e.Set("step", Napi::String::New(env, why));
		e.ThrowAsJavaScriptException();
		return env.Undefined();
	}
	Napi::Object o = Napi::Object::New(env);
	o.Set("handle", Napi::Number::New(env, handle));
	o.Set("id", Napi::Number::New(env, programs[handle].id));
	o.Set("name", Napi::String::New(env, programs[handle].name));
	return o;
}

// bindToProgram(port, handle): enters the port's socket in the program's xsks_map, at its queue.
Napi::Value BindToProgram(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	port *p = port_of(info);
	uint32_t handle = info[1].As<Napi::Number>().Uint32Value();
	if (!p || handle >= MAX_PROGRAMS || !programs[handle].prog) {
		Napi::Error::New(env, "no such port or program").ThrowAsJavaScriptException();
		return env.Undefined();
	}
	int err = xsk_socket__update_xskmap(port_socket(p), programs[handle].xsks_map_fd);
	if (err)
		errno_error(env, err, "cannot enter the socket in xsks_map").ThrowAsJavaScriptException();
	return env.Undefined();
}

Napi::Value CloseProgram(const Napi::CallbackInfo &info)
{
	uint32_t handle = info[0].As<Napi::Number>().Uint32Value();
	std::lock_guard<std::mutex> g(slots_lock);
	if (handle < MAX_PROGRAMS)
		program_close(&programs[handle]);
	return info.Env().Undefined();
}

Napi::Value TakeLog(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	std::lock_guard<std::mutex> g(log_lock);
	Napi::Array out = Napi::Array::New(env, log_lines.size());
	for (size_t i = 0; i < log_lines.size(); i++)
		out.Set(i, log_lines[i]);
	log_lines.clear();
	return out;
}

Napi::Value Versions(const Napi::CallbackInfo &info)
{
	Napi::Object out = Napi::Object::New(info.Env());
	out.Set("libbpf", libbpf_version_string());
	return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports)
{
	libxdp_set_print(capture_libxdp);
	libbpf_set_print(capture_libbpf);
	exports.Set("open", Napi::Function::New(env, Open));
	exports.Set("step", Napi::Function::New(env, Step));
	exports.Set("settle", Napi::Function::New(env, Settle));
	exports.Set("abortBatch", Napi::Function::New(env, AbortBatch));
	exports.Set("wait", Napi::Function::New(env, Wait));
	exports.Set("waitAny", Napi::Function::New(env, WaitAny));
	exports.Set("close", Napi::Function::New(env, Close));
	exports.Set("statistics", Napi::Function::New(env, Statistics));
	exports.Set("xdpQuery", Napi::Function::New(env, XdpQuery));
	exports.Set("xdpDetach", Napi::Function::New(env, XdpDetach));
	exports.Set("loadProgram", Napi::Function::New(env, LoadProgram));
	exports.Set("bindToProgram", Napi::Function::New(env, BindToProgram));
	exports.Set("closeProgram", Napi::Function::New(env, CloseProgram));
	exports.Set("takeLog", Napi::Function::New(env, TakeLog));
	exports.Set("versions", Napi::Function::New(env, Versions));
	return exports;
}

} // namespace

NODE_API_MODULE(afxdp_shim, Init)
