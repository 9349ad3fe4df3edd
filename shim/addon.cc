// The Node-API face of the shim: open/step/wait/close a port, ask the kernel
// which XDP program an interface runs, detach it. No packet logic lives here.
//
// Ports are opened on the main thread and stepped by a worker thread; both
// name a port by a small integer, so no raw pointer crosses into JavaScript.
#include <napi.h>

#include <errno.h>
#include <malloc.h>
#include <map>
#include <mutex>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <string>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <xdp/libxdp.h>

#include "port.h"
#include "privileges.h"
#include "program.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

namespace
{

constexpr int MAX_PORTS = 256;

struct Slot {
	port *p = nullptr;
	bool used = false;			  // taken, possibly still opening (p is set once it is open)
	Napi::Reference<Napi::Uint8Array> memory; // keeps the wasm memory alive while the socket uses it
};

constexpr int MAX_PROGRAMS = 16;
struct ProgramSlot {
	loaded_program lp = {};
	bool used = false; // taken, possibly still loading (lp.prog is set once it is attached)
};

// Guards slots[] and programs[]: workers look ports up while the main thread opens and
// closes others. Held only to read or write an entry, never across a slow call (opening a
// socket, the verifier). What it does not do is keep a port alive while a worker steps it:
// the host closes a port only after every worker that steps it has stopped.
std::mutex tables_lock;
Slot slots[MAX_PORTS];
ProgramSlot programs[MAX_PROGRAMS];

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

int capture_libxdp(enum libxdp_print_level, const char *fmt, va_list args)
{
	return capture(fmt, args);
}
int capture_libbpf(enum libbpf_print_level, const char *fmt, va_list args)
{
	return capture(fmt, args);
}

// Everything libxdp and libbpf said since the last take, one entry a line.
Napi::Array take_log(Napi::Env env)
{
	std::vector<std::string> lines;
	{
		std::lock_guard<std::mutex> g(log_lock);
		lines.swap(log_lines);
	}
	Napi::Array out = Napi::Array::New(env);
	uint32_t n = 0;
	for (const std::string &message : lines) {
		size_t from = 0;
		while (from <= message.size()) {
			size_t to = message.find('\n', from);
			if (to == std::string::npos)
				to = message.size();
			out.Set(n++, message.substr(from, to - from));
			from = to + 1;
		}
	}
	return out;
}

const char *stage_what(enum shim_stage stage)
{
#define SHIM_STAGE_WHAT(name, what)                                                                                    \
	case STAGE_##name:                                                                                             \
		return what;
	switch (stage) {
		SHIM_STAGES(SHIM_STAGE_WHAT)
	}
#undef SHIM_STAGE_WHAT
	return "?";
}

// The error a failed port or program operation throws, as data: stage (a number of
// `stages`), errno (positive), reason (the errno in words), and log (libxdp's and libbpf's
// lines, taken). The message is for a human reading a stack trace; the host decides on
// stage and errno alone.
Napi::Error stage_error(Napi::Env env, enum shim_stage stage, int err)
{
	int code = err < 0 ? -err : err;
	char reason[256];
	libbpf_strerror(code, reason, sizeof(reason)); // also names libbpf's own codes (4000 and up)
	Napi::Error e = Napi::Error::New(env, std::string("cannot ") + stage_what(stage) + ": " + reason);
	e.Set("stage", Napi::Number::New(env, stage));
	e.Set("errno", Napi::Number::New(env, code));
	e.Set("reason", Napi::String::New(env, reason));
	e.Set("log", take_log(env));
	return e;
}

Napi::Object stage_numbers(Napi::Env env)
{
	Napi::Object o = Napi::Object::New(env);
#define SHIM_STAGE_EXPORT(name, what) o.Set(#name, Napi::Number::New(env, STAGE_##name));
	SHIM_STAGES(SHIM_STAGE_EXPORT)
#undef SHIM_STAGE_EXPORT
	return o;
}

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

port *port_of_id(uint32_t id)
{
	if (id >= MAX_PORTS)
		return nullptr;
	std::lock_guard<std::mutex> g(tables_lock);
	return slots[id].p;
}

port *port_of(const Napi::CallbackInfo &info)
{
	return port_of_id(info[0].As<Napi::Number>().Uint32Value());
}

// The whole wasm memory behind a Uint8Array view of it. A SharedArrayBuffer is refused by
// napi_get_arraybuffer_info on Node 20, so the base is found through the view.
bool memory_of(Napi::Env env, Napi::Value view, uint8_t **base, size_t *size)
{
	void *data = nullptr;
	size_t length = 0, offset = 0;
	napi_typedarray_type type;
	napi_value ab;
	if (!view.IsTypedArray() ||
	    napi_get_typedarray_info(env, view, &type, &length, &data, &ab, &offset) != napi_ok) {
		Napi::TypeError::New(env, "memory must be a Uint8Array over the whole wasm memory")
			.ThrowAsJavaScriptException();
		return false;
	}
	*base = static_cast<uint8_t *>(data) - offset;
	*size = length + offset;
	return true;
}

port_config config_of(const Napi::Object &o, const std::string &ifname, uint8_t *base, size_t size)
{
	port_config cfg = {};
	cfg.ifname = ifname.c_str();
	cfg.queue = u32(o, "queue");
	cfg.memory = base;
	cfg.memory_size = size;
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
	return cfg;
}

// Takes a free entry of a table (slots[] or programs[]), or returns -1.
template <typename Entry, size_t N> int reserve(Entry (&table)[N])
{
	std::lock_guard<std::mutex> g(tables_lock);
	for (size_t i = 0; i < N; i++) {
		if (!table[i].used) {
			table[i].used = true;
			return static_cast<int>(i);
		}
	}
	return -1;
}

// open({ ifname, queue, memory: Uint8Array, umemOffset, frameSize, frames, ringSize,
//        batchOffset, batchMax, countersOffset, xdpFlags, bindFlags, inhibitProgLoad }) -> id
Napi::Value Open(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	Napi::Object o = info[0].As<Napi::Object>();
	Napi::Uint8Array mem = o.Get("memory").As<Napi::Uint8Array>();
	uint8_t *base = nullptr;
	size_t size = 0;
	if (!memory_of(env, mem, &base, &size))
		return env.Undefined();
	std::string ifname = o.Get("ifname").As<Napi::String>();
	port_config cfg = config_of(o, ifname, base, size);
	int id = reserve(slots);
	if (id < 0) {
		stage_error(env, STAGE_RESERVE_SLOT, EMFILE).ThrowAsJavaScriptException();
		return env.Undefined();
	}
	enum shim_stage stage = STAGE_CHECK_LAYOUT;
	port *p = nullptr;
	int err = port_open(&cfg, &p, &stage);
	if (err) {
		std::lock_guard<std::mutex> g(tables_lock);
		slots[id].used = false;
	} else {
		std::lock_guard<std::mutex> g(tables_lock);
		slots[id].p = p;
		slots[id].memory = Napi::Persistent(mem);
	}
	if (err) {
		stage_error(env, stage, err).ThrowAsJavaScriptException();
		return env.Undefined();
	}
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

Napi::Value Drain(const Napi::CallbackInfo &info)
{
	port *p = port_of(info);
	if (p)
		port_drain(p);
	return info.Env().Undefined();
}

Napi::Value Flush(const Napi::CallbackInfo &info)
{
	port *p = port_of(info);
	if (p)
		port_flush(p);
	return info.Env().Undefined();
}

// Before sleeping, each port settles its last batch, so no reply waits out the sleep.
// With coalesce_us > 0, a wake-up that finds less than a full batch sleeps that
// much longer when the arrival rate makes it worth it, so RX gathers into
// batches (as a NIC's adaptive rx-usecs does) and one wake-up, one handler
// call and one TX kick serve many packets. wake_fd (an eventfd, or -1) is in
// the poll set, so the host can end a sleep at once (a swap, a stop).
static int wait_ports(port *const *ps, uint32_t n, int timeout_ms, uint32_t coalesce_us, int wake_fd)
{
	// Each port's socket, then its sparse lane's (poll skips a -1), then wake_fd.
	struct pollfd fds[2 * MAX_PORTS + 1];
	uint32_t waiting = 0;
	for (uint32_t i = 0; i < n; i++) {
		port_flush(ps[i]);
		fds[2 * i] = { port_fd(ps[i]), POLLIN, 0 };
		fds[2 * i + 1] = { port_lane_fd(ps[i]), POLLIN, 0 };
		waiting += port_rx_waiting(ps[i]);
	}
	struct pollfd *wake = &fds[2 * n];
	*wake = { wake_fd, POLLIN, 0 };
	for (uint32_t i = 0; i < n && !waiting; i++)
		port_note_sleep(ps[i]);
	int ready = waiting ? 1 : poll(fds, 2 * n + (wake_fd >= 0), timeout_ms);
	if (ready > 0 && wake_fd >= 0 && (wake->revents & POLLIN)) {
		uint64_t drained;
		if (read(wake_fd, &drained, sizeof(drained)) < 0) {
			// EAGAIN: another waiter drained it first; nothing is lost.
		}
		return ready;
	}
	if (ready > 0 && coalesce_us) {
		// Judged after poll(), so time spent idle in it counts against the rate.
		bool nap = false, full = false;
		for (uint32_t i = 0; i < n; i++) {
			nap |= port_worth_napping(ps[i], coalesce_us);
			full |= port_rx_waiting(ps[i]) >= port_batch_max(ps[i]);
		}
		if (nap && !full) {
			for (uint32_t i = 0; i < n; i++)
				port_note_sleep(ps[i]);
			nap_us(coalesce_us);
		}
	}
	return ready;
}

// wait([ports], timeoutMs, coalesceUs, wakeFd)
Napi::Value Wait(const Napi::CallbackInfo &info)
{
	Napi::Array ids = info[0].As<Napi::Array>();
	int timeout = info[1].As<Napi::Number>().Int32Value();
	uint32_t coalesce = info[2].As<Napi::Number>().Uint32Value();
	int wake_fd = info[3].As<Napi::Number>().Int32Value();
	port *ps[MAX_PORTS];
	uint32_t n = 0;
	for (uint32_t i = 0; i < ids.Length() && n < MAX_PORTS; i++) {
		port *p = port_of_id(ids.Get(i).As<Napi::Number>().Uint32Value());
		if (p)
			ps[n++] = p;
	}
	return Napi::Number::New(info.Env(), wait_ports(ps, n, timeout, coalesce, wake_fd));
}

// newWaker() -> an eventfd that ends a wait() it was given; wake(fd) rings it; closeWaker(fd).
Napi::Value NewWaker(const Napi::CallbackInfo &info)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0) {
		errno_error(info.Env(), errno, "eventfd").ThrowAsJavaScriptException();
		return info.Env().Undefined();
	}
	return Napi::Number::New(info.Env(), fd);
}

Napi::Value Wake(const Napi::CallbackInfo &info)
{
	uint64_t one = 1;
	int fd = info[0].As<Napi::Number>().Int32Value();
	// EAGAIN means the counter is full: it is rung already.
	bool ok = write(fd, &one, sizeof(one)) == sizeof(one) || errno == EAGAIN;
	return Napi::Boolean::New(info.Env(), ok);
}

Napi::Value CloseWaker(const Napi::CallbackInfo &info)
{
	close(info[0].As<Napi::Number>().Int32Value());
	return info.Env().Undefined();
}

// socketError(port) -> the socket's pending error (SO_ERROR), 0 when none. The kernel sets
// ENETDOWN when the interface under the socket is unregistered (deleted, or its namespace gone).
Napi::Value SocketError(const Napi::CallbackInfo &info)
{
	port *p = port_of(info);
	int err = 0;
	socklen_t len = sizeof(err);
	if (p && getsockopt(port_fd(p), SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	return Napi::Number::New(info.Env(), p ? err : ENODEV);
}

// The page-aligned range (info[1], info[2]) of the memory info[0]; false, with a RangeError thrown, if it is not one.
bool page_range(Napi::Env env, const Napi::CallbackInfo &info, uint8_t **at, size_t *length, const char *what)
{
	uint8_t *base = nullptr;
	size_t size = 0;
	if (!memory_of(env, info[0], &base, &size))
		return false;
	uint64_t offset = info[1].As<Napi::Number>().Int64Value(), len = info[2].As<Napi::Number>().Int64Value();
	uint64_t page = sysconf(_SC_PAGESIZE);
	if (offset % page || len % page || len == 0 || offset + len > size) {
		Napi::RangeError::New(env, std::string(what) + ": range not page-aligned or outside the memory")
			.ThrowAsJavaScriptException();
		return false;
	}
	*at = base + offset;
	*length = len;
	return true;
}

// discard(memory: Uint8Array, offset, length): gives the pages of that range back to the
// kernel, so they read as zeros again, in time proportional to the pages that were touched
// (a fill(0) writes every page, resident or not). Offset and length are page-aligned.
Napi::Value Discard(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	uint8_t *at;
	size_t length;
	if (!page_range(env, info, &at, &length, "discard"))
		return env.Undefined();
	if (madvise(at, length, MADV_DONTNEED))
		errno_error(env, errno, "madvise").ThrowAsJavaScriptException();
	return env.Undefined();
}

// A handler region set aside while a new handler tries to take its state over (asm/CONTRACT.md,
// *Swaps*): mremap moves the old pages out in one step (page tables, no copy: a copy of the 16 MiB
// region took 3-4 ms), and the range reads as zeros again, as after discard(). putBack() moves them
// home again if the new handler fails; dropAside() frees them once it has not. JavaScript names an
// aside by a small integer, as it does a port.
constexpr int MAX_ASIDES = 256;
struct Aside {
	void *at = nullptr;
	size_t length = 0;
	pid_t owner = 0; // the thread that set it aside
};
Aside asides[MAX_ASIDES]; // only worker threads use them, each its own: guarded by tables_lock all the same

// setAside(memory: Uint8Array, offset, length) -> id: the range's pages move to a mapping of their
// own; the range stays mapped and reads as zeros.
Napi::Value SetAside(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	uint8_t *at;
	size_t length;
	if (!page_range(env, info, &at, &length, "setAside"))
		return env.Undefined();
	int id = -1;
	{
		std::lock_guard<std::mutex> g(tables_lock);
		for (int i = 0; i < MAX_ASIDES && id < 0; i++)
			if (!asides[i].at)
				id = i;
		if (id >= 0)
			asides[id].at = MAP_FAILED; // taken
	}
	if (id < 0) {
		errno_error(env, EMFILE, "setAside").ThrowAsJavaScriptException();
		return env.Undefined();
	}
	// Moved to a place reserved first: left to choose (MREMAP_MAYMOVE alone), Linux 6.18 refused
	// with EINVAL a second region of V8's memories while the first was still aside.
	void *moved = MAP_FAILED;
	int err = 0;
	void *dest = mmap(NULL, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (dest == MAP_FAILED) {
		err = errno;
	} else {
		moved = mremap(at, length, length, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, dest);
		err = errno;
		if (moved == MAP_FAILED)
			munmap(dest, length);
	}
	std::lock_guard<std::mutex> g(tables_lock);
	if (moved == MAP_FAILED) {
		asides[id] = Aside();
		errno_error(env, err, "mremap").ThrowAsJavaScriptException();
		return env.Undefined();
	}
	asides[id] = Aside{ moved, length, (pid_t)syscall(SYS_gettid) };
	return Napi::Number::New(env, id);
}

Aside take_aside(const Napi::Value &id)
{
	uint32_t i = id.As<Napi::Number>().Uint32Value();
	std::lock_guard<std::mutex> g(tables_lock);
	if (i >= MAX_ASIDES || !asides[i].at || asides[i].at == MAP_FAILED)
		return Aside();
	Aside a = asides[i];
	asides[i] = Aside();
	return a;
}

// putBack(id, memory: Uint8Array, offset): the pages set aside replace what the range holds now.
Napi::Value PutBack(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	uint8_t *base = nullptr;
	size_t size = 0;
	if (!memory_of(env, info[1], &base, &size))
		return env.Undefined();
	uint64_t offset = info[2].As<Napi::Number>().Int64Value();
	Aside a = take_aside(info[0]);
	if (!a.at || offset + a.length > size) {
		Napi::RangeError::New(env, "putBack: no such aside, or it does not fit there")
			.ThrowAsJavaScriptException();
		return env.Undefined();
	}
	if (mremap(a.at, a.length, a.length, MREMAP_MAYMOVE | MREMAP_FIXED, base + offset) == MAP_FAILED)
		errno_error(env, errno, "mremap").ThrowAsJavaScriptException();
	return env.Undefined();
}

// dropAside(id): the pages set aside go back to the kernel.
Napi::Value DropAside(const Napi::CallbackInfo &info)
{
	Aside a = take_aside(info[0]);
	if (a.at)
		munmap(a.at, a.length);
	return info.Env().Undefined();
}

// dropAsidesOf(tid) -> count: what a thread that is gone left set aside goes back to the kernel.
// A worker terminated between setting its region aside and dropping it (a new handler's init
// that never returns) would otherwise leave the pages mapped for good.
Napi::Value DropAsidesOf(const Napi::CallbackInfo &info)
{
	pid_t tid = (pid_t)info[0].As<Napi::Number>().Int32Value();
	int dropped = 0;
	std::lock_guard<std::mutex> g(tables_lock);
	for (Aside &a : asides)
		if (a.owner == tid && a.at && a.at != MAP_FAILED) {
			munmap(a.at, a.length);
			a = Aside();
			dropped++;
		}
	return Napi::Number::New(info.Env(), dropped);
}

// setMallocTrimThreshold(bytes): glibc gives the free top of an arena back to the kernel once it
// exceeds this. Left to itself, glibc raises the threshold (up to 64 MiB) each time a large block
// it mapped is freed, and each of V8's helper threads, which run the collections, kept a few MiB
// of free pages in its arena for good. Setting it once keeps it where it is set.
Napi::Value SetMallocTrimThreshold(const Napi::CallbackInfo &info)
{
	int bytes = info[0].As<Napi::Number>().Int32Value();
	return Napi::Boolean::New(info.Env(), mallopt(M_TRIM_THRESHOLD, bytes) == 1);
}

// gettid() of the calling thread, for placing threads.
Napi::Value GetTid(const Napi::CallbackInfo &info)
{
	return Napi::Number::New(info.Env(), (double)syscall(SYS_gettid));
}

// setAffinity(tid, [cpus]): tid 0 is the calling thread. Returns 0 or an errno.
Napi::Value SetAffinity(const Napi::CallbackInfo &info)
{
	int tid = info[0].As<Napi::Number>().Int32Value();
	Napi::Array cpus = info[1].As<Napi::Array>();
	cpu_set_t set;
	CPU_ZERO(&set);
	for (uint32_t i = 0; i < cpus.Length(); i++) {
		uint32_t cpu = cpus.Get(i).As<Napi::Number>().Uint32Value();
		if (cpu < CPU_SETSIZE)
			CPU_SET(cpu, &set);
	}
	int err = sched_setaffinity(tid, sizeof(set), &set) ? errno : 0;
	return Napi::Number::New(info.Env(), err);
}

Napi::Value Close(const Napi::CallbackInfo &info)
{
	uint32_t id = info[0].As<Napi::Number>().Uint32Value();
	port *p = nullptr;
	{
		std::lock_guard<std::mutex> g(tables_lock);
		if (id < MAX_PORTS && slots[id].p) {
			p = slots[id].p;
			slots[id].p = nullptr;
		}
	}
	if (!p)
		return info.Env().Undefined();
	port_close(p);
	std::lock_guard<std::mutex> g(tables_lock);
	slots[id].memory.Reset(); // the socket no longer writes into it
	slots[id].used = false;
	return info.Env().Undefined();
}

// The kernel's own view of the socket (struct xdp_statistics).
Napi::Value Statistics(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	port *p = port_of(info);
	if (!p)
		return env.Null();
	struct xdp_statistics st = {}, lane = {};
	socklen_t len = sizeof(st);
	if (getsockopt(port_fd(p), SOL_XDP, XDP_STATISTICS, &st, &len) ||
	    (port_lane_fd(p) >= 0 && getsockopt(port_lane_fd(p), SOL_XDP, XDP_STATISTICS, &lane, &len))) {
		errno_error(env, errno, "XDP_STATISTICS").ThrowAsJavaScriptException();
		return env.Undefined();
	}
	// The sparse lane's RX drops add to the port's; FILL (so its empty count) is shared, and it has no TX.
	st.rx_dropped += lane.rx_dropped;
	st.rx_invalid_descs += lane.rx_invalid_descs;
	st.rx_ring_full += lane.rx_ring_full;
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
	uint32_t id = q.prog_id	      ? q.prog_id
		      : q.drv_prog_id ? q.drv_prog_id
		      : q.skb_prog_id ? q.skb_prog_id
				      : q.hw_prog_id;
	const char *mode = q.attach_mode == XDP_ATTACHED_DRV   ? "native"
			   : q.attach_mode == XDP_ATTACHED_SKB ? "skb"
			   : q.attach_mode == XDP_ATTACHED_HW  ? "hw"
							       : "multi";
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

// Programs we hold a file descriptor of, by id. Opening a program by id takes
// CAP_SYS_ADMIN, which a process that dropped root (--user) no longer has; the fd
// it opened while still root is what it detaches with at exit.
std::mutex held_lock;
std::map<uint32_t, int> held_programs;

// holdProgram(id) -> true when an fd of that program is now held for xdpDetach.
Napi::Value HoldProgram(const Napi::CallbackInfo &info)
{
	uint32_t id = info[0].As<Napi::Number>().Uint32Value();
	std::lock_guard<std::mutex> g(held_lock);
	if (held_programs.count(id))
		return Napi::Boolean::New(info.Env(), true);
	int fd = bpf_prog_get_fd_by_id(id);
	if (fd >= 0)
		held_programs[id] = fd;
	return Napi::Boolean::New(info.Env(), fd >= 0);
}

// An fd of program id: the held one (given up: the caller closes it), else a new one.
int take_program_fd(uint32_t id)
{
	{
		std::lock_guard<std::mutex> g(held_lock);
		auto held = held_programs.find(id);
		if (held != held_programs.end()) {
			int fd = held->second;
			held_programs.erase(held);
			return fd;
		}
	}
	return bpf_prog_get_fd_by_id(id);
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
	int fd = take_program_fd(id);
	if (fd < 0)
		return Napi::Boolean::New(env, false);
	uint32_t flags = XDP_FLAGS_REPLACE | (mode == "skb"  ? XDP_FLAGS_SKB_MODE
					      : mode == "hw" ? XDP_FLAGS_HW_MODE
							     : XDP_FLAGS_DRV_MODE);
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = fd);
	int err = bpf_xdp_detach(ifindex, flags, &opts);
	close(fd);
	return Napi::Boolean::New(env, err == 0);
}

Napi::Error program_error(Napi::Env env, const program_failure &why, int err)
{
	Napi::Error e = stage_error(env, why.stage, err);
	if (!why.program.empty())
		e.Set("program", Napi::String::New(env, why.program));
	Napi::Array programs = Napi::Array::New(env, why.programs.size());
	for (size_t i = 0; i < why.programs.size(); i++)
		programs.Set(i, why.programs[i]);
	e.Set("programs", programs);
	e.Set("verifierLog", Napi::String::New(env, why.verifier_log));
	return e;
}

// loadProgram(ifname, filename, progname, xdpFlags) -> { handle, id, name }
Napi::Value LoadProgram(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	int ifindex = ifindex_of(info);
	std::string filename = info[1].As<Napi::String>();
	std::string progname = info[2].As<Napi::String>();
	uint32_t flags = info[3].As<Napi::Number>().Uint32Value();
	if (!ifindex) {
		stage_error(env, STAGE_FIND_INTERFACE, ENODEV).ThrowAsJavaScriptException();
		return env.Undefined();
	}
	int handle = reserve(programs);
	if (handle < 0) {
		stage_error(env, STAGE_RESERVE_SLOT, EMFILE).ThrowAsJavaScriptException();
		return env.Undefined();
	}
	loaded_program lp;
	program_failure why = {};
	int err = program_load(filename.c_str(), progname.c_str(), ifindex, flags, &lp, &why);
	{
		std::lock_guard<std::mutex> g(tables_lock);
		if (err)
			programs[handle].used = false;
		else
			programs[handle].lp = lp;
	}
	if (err) {
		program_error(env, why, err).ThrowAsJavaScriptException();
		return env.Undefined();
	}
	Napi::Object o = Napi::Object::New(env);
	o.Set("handle", Napi::Number::New(env, handle));
	o.Set("id", Napi::Number::New(env, lp.id));
	o.Set("name", Napi::String::New(env, lp.name));
	return o;
}

// The attached program behind a handle, copied under the lock; false when there is none.
bool program_of(uint32_t handle, loaded_program *out)
{
	std::lock_guard<std::mutex> g(tables_lock);
	if (handle >= MAX_PROGRAMS || !programs[handle].lp.prog)
		return false;
	*out = programs[handle].lp;
	return true;
}

// bindToProgram(port, handle): enters the port's socket in the program's xsks_map, at its queue.
Napi::Value BindToProgram(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	port *p = port_of(info);
	loaded_program lp;
	if (!p || !program_of(info[1].As<Napi::Number>().Uint32Value(), &lp)) {
		Napi::Error::New(env, "no such port or program").ThrowAsJavaScriptException();
		return env.Undefined();
	}
	int err = xsk_socket__update_xskmap(port_socket(p), lp.xsks_map_fd);
	if (err)
		stage_error(env, STAGE_ENTER_XSKS_MAP, err).ThrowAsJavaScriptException();
	return env.Undefined();
}

// admit(port, handle, targetUs): the port drives its queue's admission control
// in the program's fair_queues map (bpf/xsk_fair.c) toward targetUs of RX delay.
Napi::Value Admit(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	port *p = port_of(info);
	uint32_t target_us = info[2].As<Napi::Number>().Uint32Value();
	loaded_program lp;
	if (!p || !program_of(info[1].As<Napi::Number>().Uint32Value(), &lp) || !lp.fair_queues) {
		Napi::Error::New(env, "no such port, or the program has no fair_queues map")
			.ThrowAsJavaScriptException();
		return env.Undefined();
	}
	enum shim_stage stage;
	int err = port_set_admission(p, lp.fair_queues, lp.fair_queue_count, target_us, lp.xsks_lane_fd, &stage);
	if (err)
		stage_error(env, stage, err).ThrowAsJavaScriptException();
	return env.Undefined();
}

Napi::Value CloseProgram(const Napi::CallbackInfo &info)
{
	uint32_t handle = info[0].As<Napi::Number>().Uint32Value();
	loaded_program lp;
	{
		std::lock_guard<std::mutex> g(tables_lock);
		if (handle >= MAX_PROGRAMS || !programs[handle].lp.prog)
			return info.Env().Undefined();
		lp = programs[handle].lp;
		programs[handle] = ProgramSlot();
	}
	program_close(&lp);
	return info.Env().Undefined();
}

Napi::Value TakeLog(const Napi::CallbackInfo &info)
{
	return take_log(info.Env());
}

// dropPrivileges(uid, gid, groups: number[], keep: number[]): see privileges.cc. Throws an
// Error with errno and the failed step; the process is then partly dropped and must stop.
Napi::Value DropPrivileges(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	Napi::Array groups = info[2].As<Napi::Array>(), keep = info[3].As<Napi::Array>();
	std::vector<gid_t> gids;
	for (uint32_t i = 0; i < groups.Length(); i++)
		gids.push_back(groups.Get(i).As<Napi::Number>().Uint32Value());
	drop_request req = {};
	req.uid = info[0].As<Napi::Number>().Uint32Value();
	req.gid = info[1].As<Napi::Number>().Uint32Value();
	req.groups = gids.data();
	req.group_count = gids.size();
	for (uint32_t i = 0; i < keep.Length(); i++)
		req.keep |= 1ULL << keep.Get(i).As<Napi::Number>().Uint32Value();
	const char *step = nullptr;
	int err = drop_privileges(&req, &step);
	if (err) {
		Napi::Error e = errno_error(env, err, step ? step : "?");
		e.Set("step", Napi::String::New(env, step ? step : "?"));
		e.ThrowAsJavaScriptException();
	}
	return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports)
{
	libxdp_set_print(capture_libxdp);
	libbpf_set_print(capture_libbpf);
	exports.Set("open", Napi::Function::New(env, Open));
	exports.Set("step", Napi::Function::New(env, Step));
	exports.Set("drain", Napi::Function::New(env, Drain));
	exports.Set("flush", Napi::Function::New(env, Flush));
	exports.Set("abortBatch", Napi::Function::New(env, AbortBatch));
	exports.Set("wait", Napi::Function::New(env, Wait));
	exports.Set("newWaker", Napi::Function::New(env, NewWaker));
	exports.Set("wake", Napi::Function::New(env, Wake));
	exports.Set("closeWaker", Napi::Function::New(env, CloseWaker));
	exports.Set("socketError", Napi::Function::New(env, SocketError));
	exports.Set("discard", Napi::Function::New(env, Discard));
	exports.Set("setAside", Napi::Function::New(env, SetAside));
	exports.Set("putBack", Napi::Function::New(env, PutBack));
	exports.Set("dropAside", Napi::Function::New(env, DropAside));
	exports.Set("dropAsidesOf", Napi::Function::New(env, DropAsidesOf));
	exports.Set("setMallocTrimThreshold", Napi::Function::New(env, SetMallocTrimThreshold));
	exports.Set("gettid", Napi::Function::New(env, GetTid));
	exports.Set("setAffinity", Napi::Function::New(env, SetAffinity));
	exports.Set("close", Napi::Function::New(env, Close));
	exports.Set("statistics", Napi::Function::New(env, Statistics));
	exports.Set("xdpQuery", Napi::Function::New(env, XdpQuery));
	exports.Set("xdpDetach", Napi::Function::New(env, XdpDetach));
	exports.Set("holdProgram", Napi::Function::New(env, HoldProgram));
	exports.Set("dropPrivileges", Napi::Function::New(env, DropPrivileges));
	exports.Set("loadProgram", Napi::Function::New(env, LoadProgram));
	exports.Set("bindToProgram", Napi::Function::New(env, BindToProgram));
	exports.Set("closeProgram", Napi::Function::New(env, CloseProgram));
	exports.Set("admit", Napi::Function::New(env, Admit));
	exports.Set("takeLog", Napi::Function::New(env, TakeLog));
	exports.Set("stages", stage_numbers(env));
	return exports;
}

} // namespace

NODE_API_MODULE(afxdp_shim, Init)
