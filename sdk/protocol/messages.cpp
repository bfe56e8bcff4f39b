// SPDX-License-Identifier: GPL-2.0
#include "kmsdk/proto/messages.hpp"

#include "le.hpp"

#include <type_traits>

namespace kmsdk::proto {
namespace {

class Writer {
public:
    void put(bool value) { put_le(out_, value ? 1 : 0, 1); }
    void put(Stream value) { put_le(out_, static_cast<std::uint8_t>(value), 1); }
    void put(std::uint32_t value) { put_le(out_, value, 4); }
    void put(std::int32_t value) { put_le(out_, static_cast<std::uint32_t>(value), 4); }
    void put(std::uint64_t value) { put_le(out_, value, 8); }
    void put(const std::string& value)
    {
        put(static_cast<std::uint32_t>(value.size()));
        out_ += value;
    }
    void put(const std::vector<std::string>& values)
    {
        put(static_cast<std::uint32_t>(values.size()));
        for (const auto& value : values)
            put(value);
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

class Reader {
public:
    explicit Reader(std::string_view payload) : rest_{payload} {}

    void get(bool& value)
    {
        auto byte = get_le(take(1), 1);
        if (byte > 1)
            throw ProtocolError("malformed payload: a flag reads " + std::to_string(byte));
        value = byte == 1;
    }
    void get(Stream& value)
    {
        auto byte = get_le(take(1), 1);
        if (byte != 1 && byte != 2)
            throw ProtocolError("malformed payload: no stream has number " + std::to_string(byte));
        value = static_cast<Stream>(byte);
    }
    void get(std::uint32_t& value) { value = static_cast<std::uint32_t>(get_le(take(4), 4)); }
    void get(std::int32_t& value) { value = static_cast<std::int32_t>(get_le(take(4), 4)); }
    void get(std::uint64_t& value) { value = get_le(take(8), 8); }
    void get(std::string& value)
    {
        std::uint32_t size = 0;
        get(size);
        value.assign(take(size), size);
    }
    void get(std::vector<std::string>& values)
    {
        std::uint32_t count = 0;
        get(count);
        // Each string takes at least its 4-byte length: a count the
        // payload cannot hold is refused before anything is allocated.
        if (count > rest_.size() / 4)
            throw ProtocolError("malformed payload: a list claims " + std::to_string(count) +
                                " strings");
        values.resize(count);
        for (auto& value : values)
            get(value);
    }
    void finish() const
    {
        if (!rest_.empty())
            throw ProtocolError("malformed payload: " + std::to_string(rest_.size()) +
                                " bytes after its last field");
    }

private:
    const char* take(std::size_t size)
    {
        if (rest_.size() < size)
            throw ProtocolError("malformed payload: a field runs past its end");
        const char* field = rest_.data();
        rest_.remove_prefix(size);
        return field;
    }
    std::string_view rest_;
};

template <std::size_t... I>
Message decode_alternative(const Frame& frame, std::index_sequence<I...>)
{
    Message message;
    bool found = ((std::variant_alternative_t<I, Message>::type == frame.type
                       ? (message = decode_payload<std::variant_alternative_t<I, Message>>(
                              frame.payload),
                          true)
                       : false) ||
                  ...);
    if (!found)
        throw ProtocolError("unknown message " + type_name(frame.type));
    return message;
}

}  // namespace

template <class M>
std::string encode_payload(const M& message)
{
    Writer writer;
    std::apply([&](const auto&... field) { (writer.put(field), ...); }, message.fields());
    return writer.take();
}

template <class M>
M decode_payload(std::string_view payload)
{
    M message;
    Reader reader{payload};
    std::apply([&](auto&... field) { (reader.get(field), ...); }, message.fields());
    reader.finish();
    return message;
}

void encode_output_prefix(char* prefix, Stream stream, std::uint32_t size)
{
    // As Writer puts Output's fields: the stream, then the data's length.
    put_le(prefix, static_cast<std::uint8_t>(stream), 1);
    put_le(prefix + 1, size, 4);
}

std::uint32_t announced_version(const Frame& hello)
{
    if (hello.payload.size() < 4)
        return 0;
    return static_cast<std::uint32_t>(get_le(hello.payload.data(), 4));
}

Message decode_any(const Frame& frame)
{
    return decode_alternative(frame, std::make_index_sequence<std::variant_size_v<Message>>{});
}

// Every message's encoder and decoder, compiled here once.
#define KMSDK_PROTO_CODEC(M)                                   \
    template std::string encode_payload<M>(const M&); \
    template M decode_payload<M>(std::string_view);
KMSDK_PROTO_CODEC(Hello)
KMSDK_PROTO_CODEC(Ping)
KMSDK_PROTO_CODEC(Run)
KMSDK_PROTO_CODEC(Input)
KMSDK_PROTO_CODEC(Output)
KMSDK_PROTO_CODEC(Window)
KMSDK_PROTO_CODEC(Signal)
KMSDK_PROTO_CODEC(Exited)
KMSDK_PROTO_CODEC(PutFile)
KMSDK_PROTO_CODEC(GetFile)
KMSDK_PROTO_CODEC(FileData)
KMSDK_PROTO_CODEC(Insmod)
KMSDK_PROTO_CODEC(Rmmod)
KMSDK_PROTO_CODEC(ModuleResult)
KMSDK_PROTO_CODEC(BootPass)
KMSDK_PROTO_CODEC(BootPassResult)
KMSDK_PROTO_CODEC(ReadKernelLog)
KMSDK_PROTO_CODEC(KernelLog)
KMSDK_PROTO_CODEC(Shutdown)
KMSDK_PROTO_CODEC(Resume)
KMSDK_PROTO_CODEC(Resumed)
KMSDK_PROTO_CODEC(Ok)
KMSDK_PROTO_CODEC(Error)
#undef KMSDK_PROTO_CODEC

}  // namespace kmsdk::proto
