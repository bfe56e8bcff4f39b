// SPDX-License-Identifier: GPL-2.0
//
// The wire protocol between the host and the guest's agent, over one
// virtio-serial port. Both sides build this same code: the host in
// libkmsdk, the agent statically.
//
// A frame is a 24-byte little-endian header and a payload:
//
//   u32 magic "KMSD" | u16 type | u16 reserved (0) | u32 id | u32 length |
//   u32 payload CRC-32 | u32 header CRC-32 (of the 20 bytes before it)
//
// A request carries a fresh id; its reply carries the same id. The payload
// is a sequence of fields written with PayloadWriter: u32, u64, i32 as
// little-endian integers, strings and byte blobs as a u32 length and the
// bytes. Any magic, length or checksum that does not add up is a broken
// channel: the reader throws, and the host reboots the guest.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kmsdk::proto {

inline constexpr std::uint32_t frame_magic = 0x44534d4b;  // "KMSD" on the wire
inline constexpr std::size_t header_size = 24;
inline constexpr std::uint32_t max_payload = 256u << 20;
// The virtio-serial port's name (virtserialport,name=...).
inline constexpr std::string_view port_name = "org.kmsdk.agent";

enum class Type : std::uint16_t {
    // agent → host, unsolicited, when the agent opens the port, and the
    // reply to Ping: string release, string agent build id, u64 uptime_ns.
    Hello = 1,
    Ping = 2,  // host → agent, empty; answered with Hello.

    // host → agent: string command for /bin/sh -c, bytes stdin,
    // string working directory ("" = the staged modules' folder).
    Run = 10,
    // i32 status (exit code, or 128 + signal), bytes stdout, bytes stderr,
    // u64 elapsed_ns.
    RunResult = 11,

    // host → agent: string path, u32 mode, bytes data. Parent folders are
    // made. Reply Ok.
    PutFile = 20,
    GetFile = 21,   // host → agent: string path. Reply FileData.
    FileData = 22,  // bytes data

    // host → agent: string path of the .ko, string parameters. finit_module
    // in the agent itself, no fork. Reply ModuleResult.
    Insmod = 30,
    // host → agent: string module name, u32 force (0/1). delete_module.
    Rmmod = 31,
    // i32 err (0 or an errno), string message as kmod would word it,
    // u64 elapsed_ns.
    ModuleResult = 32,

    // host → agent, empty: depmod, then load what /etc/modules-load.d
    // lists, then modprobe every device's modalias. Reply RunResult, whose
    // stdout logs each step.
    BootPass = 40,

    // host → agent: u64 first sequence number wanted. Reply KernelLog.
    ReadKernelLog = 45,
    // u64 next sequence number, u64 taint mask
    // (/proc/sys/kernel/tainted), string records as "<level>,<seq>,
    // <usec>;<text>" lines, as /dev/kmsg gives them.
    KernelLog = 46,

    // host → agent: string command, u32 rows, u32 cols: run it on a new
    // pseudo-terminal. Then PtyInput frames carry the host's keystrokes,
    // PtyOutput frames the terminal's output, and PtyExit (i32 status) ends
    // the session.
    PtyOpen = 60,
    PtyInput = 61,  // bytes
    PtyOutput = 62, // bytes
    PtyExit = 63,   // i32 status

    // host → agent, empty: sync and power off. Reply Ok first.
    Shutdown = 50,

    // host → agent, after the guest was restored from a snapshot: bytes
    // seed (mixed into the kernel's random pool), u64 the host's
    // CLOCK_REALTIME in ns. Every restored guest starts from one saved RNG
    // state and one saved clock; this makes each its own. The agent also
    // rewrites PCI BARs that a device without migration state lost. Reply
    // Ok: string a line per BAR rewritten.
    Resume = 70,

    Ok = 90,
    Error = 91,  // i32 errno (0 if none), string message
};

const char* type_name(Type type);

struct Frame {
    Type type{};
    std::uint32_t id = 0;
    std::string payload;
};

class ProtocolError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::uint32_t crc32(std::string_view data);

// The bytes of a frame on the wire.
std::string encode(const Frame& frame);

// Reassembles frames from a byte stream that arrives in arbitrary pieces.
class FrameReader {
public:
    void feed(const char* data, std::size_t size);
    // The next complete frame, if one has arrived. Throws ProtocolError on
    // a corrupt header or payload.
    std::optional<Frame> next();
    std::size_t buffered() const { return buffer_.size() - consumed_; }

private:
    std::string buffer_;
    std::size_t consumed_ = 0;
};

class PayloadWriter {
public:
    PayloadWriter& u32(std::uint32_t value);
    PayloadWriter& i32(std::int32_t value);
    PayloadWriter& u64(std::uint64_t value);
    PayloadWriter& bytes(std::string_view value);
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

class PayloadReader {
public:
    explicit PayloadReader(std::string_view payload) : rest_{payload} {}
    std::uint32_t u32();
    std::int32_t i32();
    std::uint64_t u64();
    std::string bytes();
    bool empty() const { return rest_.empty(); }

private:
    std::string_view take(std::size_t size);
    std::string_view rest_;
};

}  // namespace kmsdk::proto
