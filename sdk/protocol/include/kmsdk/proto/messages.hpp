// SPDX-License-Identifier: GPL-2.0
//
// The messages of the host–agent protocol, each a struct that names its
// fields once (KMSDK_PROTO_FIELDS); encode() and decode() derive the wire
// layout from that list, so both sides read exactly what the other wrote.
//
// Fields go in order, little-endian: bool and Stream as one byte (0/1,
// 1/2), u32, i32 and u64 as 4, 4 and 8 bytes, strings as a u32 length and
// the bytes, string lists as a u32 count and the strings. A payload that
// ends early, has bytes left over, or holds a value its type cannot have
// does not decode.
//
// Conversation:
// - The agent sends Hello when it opens its port, and in reply to Ping.
//   The host refuses an agent whose Hello has another protocol_version.
// - Run starts a process. Its frames, all with the Run's id: Output from
//   the agent, Input and Signal from the host, Window either way, and
//   finally Exited (or Error, if it could not start).
// - Flow control: each side may have at most `initial_window` bytes of
//   Output (agent) or Input (host) data sent that the other has not yet
//   granted back with Window. So neither side ever holds more than a
//   window of the other's data, whatever the volume.
// - Every other request gets one reply: the message named beside it, or
//   Error.
#pragma once

#include "kmsdk/proto/frame.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

namespace kmsdk::proto {

// Hello carries it; an agent of another version is refused.
inline constexpr std::uint32_t protocol_version = 3;

// Bytes of stream data a sender may have unacknowledged, each way.
inline constexpr std::uint32_t initial_window = 1u << 20;
// The most stream data one Output or Input frame carries.
inline constexpr std::uint32_t max_chunk = 64u << 10;

// Lists a message's fields, in wire order, for encode() and decode().
#define KMSDK_PROTO_FIELDS(...)                                   \
    auto fields() { return std::tie(__VA_ARGS__); }               \
    auto fields() const { return std::tie(__VA_ARGS__); }

// agent → host, unsolicited when the agent opens its port, and the reply
// to Ping.
struct Hello {
    static constexpr Type type = Type::Hello;
    std::uint32_t protocol_version = proto::protocol_version;
    std::string release;      // uname -r
    std::string agent_build;  // tells two agent builds apart
    std::uint64_t uptime_ns = 0;
    KMSDK_PROTO_FIELDS(protocol_version, release, agent_build, uptime_ns)
};

// host → agent: answered with Hello.
struct Ping {
    static constexpr Type type = Type::Ping;
    KMSDK_PROTO_FIELDS()
};

// host → agent: start argv (argv[0] a path, or a name looked up in PATH).
struct Run {
    static constexpr Type type = Type::Run;
    std::vector<std::string> argv;
    std::string cwd;  // "" = the staged modules' folder
    // Whether Input frames will follow; if not, stdin is /dev/null.
    bool input = false;
    // Non-zero: run on a new pseudo-terminal of this size (stdin, stdout
    // and stderr all on it, so all output comes as Stream::out).
    std::uint32_t rows = 0;
    std::uint32_t cols = 0;
    KMSDK_PROTO_FIELDS(argv, cwd, input, rows, cols)
};

// host → agent, for a Run: bytes for its stdin; `end` closes it.
struct Input {
    static constexpr Type type = Type::Input;
    std::string data;
    bool end = false;
    KMSDK_PROTO_FIELDS(data, end)
};

enum class Stream : std::uint8_t { out = 1, err = 2 };

// agent → host, for a Run: what it wrote.
struct Output {
    static constexpr Type type = Type::Output;
    Stream stream = Stream::out;
    std::string data;
    KMSDK_PROTO_FIELDS(stream, data)
};

// Output's wire layout for a sender that reads the data straight into
// place: its payload is output_prefix_size bytes, written by
// encode_output_prefix for data of `size` bytes, then the data.
inline constexpr std::size_t output_prefix_size = 5;
void encode_output_prefix(char* prefix, Stream stream, std::uint32_t size);

// Either way, for a Run: the receiver has consumed `bytes` more of the
// sender's stream data, which may send that much more.
struct Window {
    static constexpr Type type = Type::Window;
    std::uint32_t bytes = 0;
    KMSDK_PROTO_FIELDS(bytes)
};

// host → agent, for a Run: deliver this signal to its process group.
struct Signal {
    static constexpr Type type = Type::Signal;
    std::int32_t number = 0;
    KMSDK_PROTO_FIELDS(number)
};

// agent → host, the last frame of a Run.
struct Exited {
    static constexpr Type type = Type::Exited;
    std::int32_t status = 0;  // exit code, or 128 + signal
    std::uint64_t elapsed_ns = 0;
    KMSDK_PROTO_FIELDS(status, elapsed_ns)
};

// host → agent: write a file (parent folders made; /sys and /proc files
// in place with one write). Reply Ok.
struct PutFile {
    static constexpr Type type = Type::PutFile;
    std::string path;
    std::uint32_t mode = 0644;
    std::string data;
    KMSDK_PROTO_FIELDS(path, mode, data)
};

// host → agent. Reply FileData.
struct GetFile {
    static constexpr Type type = Type::GetFile;
    std::string path;
    KMSDK_PROTO_FIELDS(path)
};

struct FileData {
    static constexpr Type type = Type::FileData;
    std::string data;
    KMSDK_PROTO_FIELDS(data)
};

// host → agent: finit_module in the agent itself, no fork. Reply
// ModuleResult.
struct Insmod {
    static constexpr Type type = Type::Insmod;
    std::string path;
    std::string params;
    KMSDK_PROTO_FIELDS(path, params)
};

// host → agent: delete_module. Reply ModuleResult.
struct Rmmod {
    static constexpr Type type = Type::Rmmod;
    std::string name;
    bool force = false;
    KMSDK_PROTO_FIELDS(name, force)
};

struct ModuleResult {
    static constexpr Type type = Type::ModuleResult;
    std::int32_t error = 0;  // 0, or the errno the kernel returned
    std::string message;     // as kmod would word it
    std::uint64_t elapsed_ns = 0;
    KMSDK_PROTO_FIELDS(error, message, elapsed_ns)
};

// host → agent: depmod, then load what /etc/modules-load.d lists, then
// modprobe every device's modalias. Reply BootPassResult.
struct BootPass {
    static constexpr Type type = Type::BootPass;
    KMSDK_PROTO_FIELDS()
};

struct BootPassResult {
    static constexpr Type type = Type::BootPassResult;
    std::int32_t status = 0;
    std::string log;     // a line per step
    std::string errors;  // what the steps wrote on stderr
    KMSDK_PROTO_FIELDS(status, log, errors)
};

// Where the agent also leaves the last boot pass's log, in the guest: a
// guest restored from a staged snapshot ran its boot pass before the save.
inline constexpr std::string_view boot_pass_log_path = "/run/kmsdk/boot-pass.log";

// host → agent: the kernel log from sequence number `first`. Reply
// KernelLog.
struct ReadKernelLog {
    static constexpr Type type = Type::ReadKernelLog;
    std::uint64_t first = 0;
    KMSDK_PROTO_FIELDS(first)
};

struct KernelLog {
    static constexpr Type type = Type::KernelLog;
    std::uint64_t next = 0;   // the sequence number the next record gets
    std::uint64_t taint = 0;  // /proc/sys/kernel/tainted
    // "<level>,<seq>,<usec>;<text>" lines, as /dev/kmsg gives them.
    std::string records;
    KMSDK_PROTO_FIELDS(next, taint, records)
};

// host → agent: sync and power off. Reply Ok first.
struct Shutdown {
    static constexpr Type type = Type::Shutdown;
    KMSDK_PROTO_FIELDS()
};

// host → agent, after a restore from a snapshot: every restored guest
// starts from one saved RNG state and clock; this makes each its own. With
// repair_pci_bars, the agent also rewrites PCI BARs that a device without
// migration state lost: the host asks for it when the machine has devices
// of the user's (a machine of kmsdk's own has none such, and the scan costs
// a restore 15-30 ms under TCG). Reply Resumed.
struct Resume {
    static constexpr Type type = Type::Resume;
    std::string seed;  // mixed into the kernel's random pool
    std::uint64_t realtime_ns = 0;  // the host's CLOCK_REALTIME
    bool repair_pci_bars = false;
    KMSDK_PROTO_FIELDS(seed, realtime_ns, repair_pci_bars)
};

struct Resumed {
    static constexpr Type type = Type::Resumed;
    std::string log;  // a line per BAR rewritten
    // What boot_pass_log_path holds: the boot pass a staged snapshot ran
    // before it was saved, or "" (none ran yet).
    std::string boot_pass_log;
    KMSDK_PROTO_FIELDS(log, boot_pass_log)
};

struct Ok {
    static constexpr Type type = Type::Ok;
    KMSDK_PROTO_FIELDS()
};

struct Error {
    static constexpr Type type = Type::Error;
    std::int32_t error = 0;  // an errno, 0 if none
    std::string message;
    KMSDK_PROTO_FIELDS(error, message)
};

#undef KMSDK_PROTO_FIELDS

using Message = std::variant<Hello, Ping, Run, Input, Output, Window, Signal, Exited, PutFile,
                             GetFile, FileData, Insmod, Rmmod, ModuleResult, BootPass,
                             BootPassResult, ReadKernelLog, KernelLog, Shutdown, Resume, Resumed,
                             Ok, Error>;

// The payload bytes of a message.
template <class M>
std::string encode_payload(const M& message);

// The message a payload holds. Throws ProtocolError when it is not a
// well-formed M.
template <class M>
M decode_payload(std::string_view payload);

template <class M>
Frame frame(std::uint32_t id, const M& message)
{
    return Frame{M::type, id, encode_payload(message)};
}

// The frame as an M; ProtocolError if it is of another type or malformed.
template <class M>
M decode(const Frame& frame)
{
    if (frame.type != M::type)
        throw ProtocolError("expected a " + type_name(M::type) + " frame, got " +
                            type_name(frame.type));
    return decode_payload<M>(frame.payload);
}

// The protocol version a Hello frame announces: its first field, in every
// version of the protocol, so that an agent of another version is told
// apart from a broken one. 0 when the frame is too short to say.
std::uint32_t announced_version(const Frame& hello);

// Whichever message the frame holds; ProtocolError for an unknown type or
// a malformed payload.
Message decode_any(const Frame& frame);

}  // namespace kmsdk::proto
