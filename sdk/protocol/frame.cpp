// SPDX-License-Identifier: GPL-2.0
#include "kmsdk/proto/frame.hpp"

#include "le.hpp"

#include <zlib.h>

namespace kmsdk::proto {

std::string type_name(Type type)
{
    switch (type) {
    case Type::Hello: return "Hello";
    case Type::Ping: return "Ping";
    case Type::Run: return "Run";
    case Type::Input: return "Input";
    case Type::Output: return "Output";
    case Type::Window: return "Window";
    case Type::Signal: return "Signal";
    case Type::Exited: return "Exited";
    case Type::PutFile: return "PutFile";
    case Type::GetFile: return "GetFile";
    case Type::FileData: return "FileData";
    case Type::Insmod: return "Insmod";
    case Type::Rmmod: return "Rmmod";
    case Type::ModuleResult: return "ModuleResult";
    case Type::BootPass: return "BootPass";
    case Type::BootPassResult: return "BootPassResult";
    case Type::ReadKernelLog: return "ReadKernelLog";
    case Type::KernelLog: return "KernelLog";
    case Type::Shutdown: return "Shutdown";
    case Type::Resume: return "Resume";
    case Type::Resumed: return "Resumed";
    case Type::Ok: return "Ok";
    case Type::Error: return "Error";
    }
    return "type " + std::to_string(static_cast<unsigned>(type));
}

std::uint32_t crc32(std::string_view data)
{
    // zlib takes lengths as uInt; payloads are far below 4 GiB.
    return static_cast<std::uint32_t>(
        ::crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

void encode_header(char* header, Type type, std::uint32_t id, std::string_view payload)
{
    if (payload.size() > max_payload)
        throw ProtocolError("a " + type_name(type) + " frame of " +
                            std::to_string(payload.size()) +
                            " bytes is over the protocol's limit of " +
                            std::to_string(max_payload));
    put_le(header, frame_magic, 4);
    put_le(header + 4, static_cast<std::uint16_t>(type), 2);
    put_le(header + 6, 0, 2);
    put_le(header + 8, id, 4);
    put_le(header + 12, payload.size(), 4);
    put_le(header + 16, crc32(payload), 4);
    put_le(header + 20, crc32({header, 20}), 4);
}

std::string encode(const Frame& frame)
{
    std::string out(header_size, '\0');
    encode_header(out.data(), frame.type, frame.id, frame.payload);
    out += frame.payload;
    return out;
}

void FrameReader::feed(const char* data, std::size_t size)
{
    // Drop what was consumed once it dominates, so the buffer stays small.
    if (consumed_ > 0 && consumed_ >= buffer_.size() / 2) {
        buffer_.erase(0, consumed_);
        consumed_ = 0;
    }
    buffer_.append(data, size);
}

std::optional<Frame> FrameReader::next()
{
    if (buffered() < header_size)
        return std::nullopt;
    const char* header = buffer_.data() + consumed_;
    if (get_le(header, 4) != frame_magic)
        throw ProtocolError("channel out of step: a frame does not start with the magic");
    if (get_le(header + 20, 4) != crc32({header, 20}))
        throw ProtocolError("channel corrupted: a frame header fails its checksum");
    auto length = get_le(header + 12, 4);
    if (length > max_payload)
        throw ProtocolError("channel corrupted: a frame claims " + std::to_string(length) +
                            " bytes");
    if (buffered() < header_size + length)
        return std::nullopt;

    Frame frame;
    frame.type = static_cast<Type>(get_le(header + 4, 2));
    frame.id = static_cast<std::uint32_t>(get_le(header + 8, 4));
    frame.payload.assign(header + header_size, length);
    if (crc32(frame.payload) != get_le(header + 16, 4))
        throw ProtocolError("channel corrupted: the payload of a " + type_name(frame.type) +
                            " frame fails its checksum");
    consumed_ += header_size + length;
    return frame;
}

}  // namespace kmsdk::proto
