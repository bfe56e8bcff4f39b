// SPDX-License-Identifier: GPL-2.0
//
// Frames: how messages between the host and the guest's agent travel over
// one virtio-serial port. Both sides build this same code (the target
// kmsdk_protocol): the host into libkmsdk, the agent statically. It is not
// part of the installed API.
//
// A frame is a 24-byte little-endian header and a payload:
//
//   u32 magic "KMSD" | u16 type | u16 reserved (0) | u32 id | u32 length |
//   u32 payload CRC-32 | u32 header CRC-32 (of the 20 bytes before it)
//
// A request carries a fresh id; every frame that answers it (a reply, or
// the stream of a running command) carries the same id. Any magic, length
// or checksum that does not add up is a broken channel: the reader throws,
// and the host reboots the guest. What the payloads hold is messages.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kmsdk::proto {

inline constexpr std::uint32_t frame_magic = 0x44534d4b;  // "KMSD" on the wire
inline constexpr std::size_t header_size = 24;
inline constexpr std::uint32_t max_payload = 256u << 20;
// The virtio-serial port's name (virtserialport,name=...).
inline constexpr std::string_view port_name = "org.kmsdk.agent";

// Every message type; messages.hpp says what each carries and which way
// it goes.
enum class Type : std::uint16_t {
    Hello = 1,
    Ping = 2,

    Run = 10,
    Input = 11,
    Output = 12,
    Window = 13,
    Signal = 14,
    Exited = 15,

    PutFile = 20,
    GetFile = 21,
    FileData = 22,

    Insmod = 30,
    Rmmod = 31,
    ModuleResult = 32,

    BootPass = 40,
    BootPassResult = 41,

    ReadKernelLog = 45,
    KernelLog = 46,

    Shutdown = 50,

    Resume = 70,
    Resumed = 71,

    Ok = 90,
    Error = 91,
};

// "Hello", "Run", ...; "type 17" for a number no message has.
std::string type_name(Type type);

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

// The bytes of a frame on the wire. Throws ProtocolError when the payload
// is over max_payload.
std::string encode(const Frame& frame);

// Writes the header_size bytes that go just before `payload` on the wire,
// for a sender that builds its payload in place rather than in a Frame
// (the agent's Output: each copy of the data costs the guest dearly under
// TCG). Throws ProtocolError as encode() does.
void encode_header(char* header, Type type, std::uint32_t id, std::string_view payload);

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

}  // namespace kmsdk::proto
