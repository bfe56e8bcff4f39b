// SPDX-License-Identifier: GPL-2.0
// The host–agent wire protocol without a guest: frames survive the trip
// through FrameReader however the stream is cut, every message survives
// encode and decode with every field intact, and what a broken or hostile
// peer could send (short or long payloads, impossible values, corrupt
// headers) is a ProtocolError, never a wrong message.
#include "kmsdk/proto/frame.hpp"
#include "kmsdk/proto/messages.hpp"
#include "protocol_samples.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

using namespace kmsdk::proto;
using namespace std::string_literals;
using Catch::Contains;

namespace {


template <class M>
M sample()
{
    return std::get<M>(samples::all());
}

template <class T>
void check_field(std::size_t index, const T& got, const T& want)
{
    INFO("field " << index);
    CHECK(got == want);
}

template <class T>
void check_not_default(std::size_t index, const T& value, const T& default_value)
{
    INFO("field " << index << " of the sample holds its default");
    CHECK(value != default_value);
}

// Field by field, so a failure names the field rather than the message.
template <class M>
void check_same(const M& got, const M& want)
{
    auto g = got.fields();
    auto w = want.fields();
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (check_field(I, std::get<I>(g), std::get<I>(w)), ...);
    }(std::make_index_sequence<std::tuple_size_v<decltype(g)>>{});
}

template <class M>
void check_sample_not_default(const M& message)
{
    const M defaults{};
    auto s = message.fields();
    auto d = defaults.fields();
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (check_not_default(I, std::get<I>(s), std::get<I>(d)), ...);
    }(std::make_index_sequence<std::tuple_size_v<decltype(s)>>{});
}

// What a FrameReader makes of these bytes fed all at once.
std::vector<Frame> read_all(const std::string& bytes)
{
    FrameReader reader;
    reader.feed(bytes.data(), bytes.size());
    std::vector<Frame> frames;
    while (auto frame = reader.next())
        frames.push_back(std::move(*frame));
    CHECK(reader.buffered() == 0);
    return frames;
}

void check_same_frame(const Frame& got, const Frame& want)
{
    CHECK(got.type == want.type);
    CHECK(got.id == want.id);
    CHECK(got.payload == want.payload);
}

void put_u16(std::string& out, std::uint16_t value)
{
    out += static_cast<char>(value & 0xff);
    out += static_cast<char>(value >> 8);
}

void put_u32(std::string& out, std::uint32_t value)
{
    for (int i = 0; i < 4; ++i)
        out += static_cast<char>((value >> (8 * i)) & 0xff);
}

// A header written by hand, so a test can make it claim what encode()
// never would, yet still pass its own checksum.
std::string header(std::uint32_t magic, std::uint16_t type, std::uint32_t id,
                   std::uint32_t length, std::uint32_t payload_crc)
{
    std::string out;
    put_u32(out, magic);
    put_u16(out, type);
    put_u16(out, 0);
    put_u32(out, id);
    put_u32(out, length);
    put_u32(out, payload_crc);
    put_u32(out, crc32(out));
    return out;
}

const std::vector<Frame> some_frames{
    {Type::Hello, 1, encode_payload(sample<Hello>())},
    {Type::Ping, 2, ""},
    {Type::Output, 0xdeadbeef, encode_payload(sample<Output>())},
    {Type::PutFile, 3, encode_payload(sample<PutFile>())},
    {Type::Ok, 0xffffffff, ""},
};

std::string encode_all(const std::vector<Frame>& frames)
{
    std::string out;
    for (const auto& frame : frames)
        out += encode(frame);
    return out;
}

}  // namespace

TEST_CASE("CRC-32 is zlib's (IEEE 802.3), as the other side computes it", "[protocol]")
{
    CHECK(crc32("") == 0);
    CHECK(crc32("123456789") == 0xCBF43926);
    CHECK(crc32("The quick brown fox jumps over the lazy dog") == 0x414FA339);
    CHECK(crc32("\0"s) == 0xD202EF8D);
}

TEST_CASE("a frame's header is laid out as frame.hpp documents", "[protocol]")
{
    auto bytes = encode(Frame{Type::Output, 0x01020304, "ab"});
    REQUIRE(bytes.size() == header_size + 2);
    CHECK(bytes.substr(0, 4) == "KMSD");
    CHECK(bytes.substr(4, 2) == "\x0c\x00"s);  // Output = 12
    CHECK(bytes.substr(6, 2) == "\0\0"s);
    CHECK(bytes.substr(8, 4) == "\x04\x03\x02\x01"s);
    CHECK(bytes.substr(12, 4) == "\x02\0\0\0"s);
    std::string crcs;
    put_u32(crcs, crc32("ab"));
    put_u32(crcs, crc32(bytes.substr(0, 20)));
    CHECK(bytes.substr(16, 8) == crcs);
    CHECK(bytes.substr(24) == "ab");
    // What the hand-written headers of the failure tests rely on.
    CHECK(bytes.substr(0, header_size) ==
          header(frame_magic, 12, 0x01020304, 2, crc32("ab")));
}

TEST_CASE("encode and FrameReader round trip a frame, its payload byte for byte", "[protocol]")
{
    std::string every_byte;
    for (int i = 0; i < 256; ++i)
        every_byte += static_cast<char>(i);
    for (const auto& payload : {""s, "x"s, every_byte, std::string(100000, '\0')}) {
        INFO("a payload of " << payload.size() << " bytes");
        const Frame sent{Type::FileData, 77, payload};
        auto frames = read_all(encode(sent));
        REQUIRE(frames.size() == 1);
        check_same_frame(frames[0], sent);
    }
}

TEST_CASE("an Output built in place is the same bytes as one encoded from its message",
          "[protocol]")
{
    // The agent reads a command's output straight behind a header and an
    // Output prefix (encode_header, encode_output_prefix); the host decodes
    // it as any Output.
    for (const auto& data : {""s, "line\n"s, std::string(max_chunk, '\xff')}) {
        for (auto stream : {Stream::out, Stream::err}) {
            INFO(data.size() << " bytes on stream " << static_cast<int>(stream));
            std::string wire(header_size + output_prefix_size + data.size(), '?');
            char* payload = wire.data() + header_size;
            std::copy(data.begin(), data.end(), payload + output_prefix_size);
            encode_output_prefix(payload, stream, static_cast<std::uint32_t>(data.size()));
            encode_header(wire.data(), Type::Output, 9,
                          {payload, output_prefix_size + data.size()});
            CHECK(wire == encode(frame(9, Output{stream, data})));
        }
    }
}

TEST_CASE("a stream fed one byte at a time yields each frame when its last byte arrives",
          "[protocol]")
{
    FrameReader reader;
    std::size_t fed = 0;
    for (const auto& sent : some_frames) {
        auto bytes = encode(sent);
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            CHECK_FALSE(reader.next());
            reader.feed(&bytes[i], 1);
            ++fed;
        }
        auto got = reader.next();
        REQUIRE(got);
        check_same_frame(*got, sent);
        CHECK(reader.buffered() == 0);
        CHECK_FALSE(reader.next());
    }
    CHECK(fed == encode_all(some_frames).size());
}

TEST_CASE("several frames in one feed come out in order, and nothing after them", "[protocol]")
{
    FrameReader reader;
    auto bytes = encode_all(some_frames);
    reader.feed(bytes.data(), bytes.size());
    for (const auto& sent : some_frames) {
        auto got = reader.next();
        REQUIRE(got);
        check_same_frame(*got, sent);
    }
    CHECK_FALSE(reader.next());
    CHECK(reader.buffered() == 0);
}

TEST_CASE("frames cut into pieces of any size come out whole, and a partial one waits",
          "[protocol]")
{
    auto bytes = encode_all(some_frames);
    for (std::size_t piece = 1; piece <= bytes.size(); ++piece) {
        INFO("pieces of " << piece << " bytes");
        FrameReader reader;
        std::vector<Frame> frames;
        for (std::size_t at = 0; at < bytes.size(); at += piece) {
            reader.feed(bytes.data() + at, std::min(piece, bytes.size() - at));
            while (auto frame = reader.next())
                frames.push_back(std::move(*frame));
        }
        REQUIRE(frames.size() == some_frames.size());
        for (std::size_t i = 0; i < frames.size(); ++i)
            check_same_frame(frames[i], some_frames[i]);
        CHECK(reader.buffered() == 0);
    }
}

TEST_CASE("every message survives frame(), the wire and decode() with every field intact",
          "[protocol]")
{
    std::uint32_t id = 0x40302010;
    std::apply(
        [&](const auto&... message) {
            auto check = [&]<class M>(const M& sent) {
                DYNAMIC_SECTION(type_name(M::type))
                {
                    check_sample_not_default(sent);
                    CHECK(type_name(M::type).rfind("type ", 0) == std::string::npos);

                    auto framed = frame(id, sent);
                    CHECK(framed.type == M::type);
                    CHECK(framed.id == id);
                    check_same(decode<M>(framed), sent);

                    auto frames = read_all(encode(framed));
                    REQUIRE(frames.size() == 1);
                    check_same_frame(frames[0], framed);
                    check_same(decode<M>(frames[0]), sent);

                    auto any = decode_any(frames[0]);
                    REQUIRE(std::holds_alternative<M>(any));
                    check_same(std::get<M>(any), sent);
                }
                ++id;
            };
            (check(message), ...);
        },
        samples::all());
}

TEST_CASE("every message type has a number of its own", "[protocol]")
{
    std::set<Type> types;
    std::apply([&](const auto&... message) { (types.insert(message.type), ...); }, samples::all());
    CHECK(types.size() == std::variant_size_v<Message>);
}

TEST_CASE("no message decodes from a payload cut short or with bytes left over", "[protocol]")
{
    std::apply(
        [&](const auto&... message) {
            auto check = [&]<class M>(const M& sent) {
                DYNAMIC_SECTION(type_name(M::type))
                {
                    auto payload = encode_payload(sent);
                    for (std::size_t size = 0; size < payload.size(); ++size) {
                        INFO("the first " << size << " of " << payload.size() << " bytes");
                        CHECK_THROWS_AS(decode_payload<M>(payload.substr(0, size)),
                                        ProtocolError);
                    }
                    CHECK_THROWS_WITH(decode_payload<M>(payload + '\0'),
                                      Contains("1 bytes after its last field"));
                    CHECK_THROWS_AS(decode_any(Frame{M::type, 1, payload + "xyz"}),
                                    ProtocolError);
                }
            };
            (check(message), ...);
        },
        samples::all());
}

TEST_CASE("a flag byte other than 0 or 1 does not decode", "[protocol]")
{
    // Input and Rmmod end with their flag, Run has one in the middle.
    auto input = encode_payload(Input{.data = "x", .end = true});
    input.back() = '\x02';
    CHECK_THROWS_WITH(decode_payload<Input>(input), Contains("a flag reads 2"));
    input.back() = '\xff';
    CHECK_THROWS_AS(decode_payload<Input>(input), ProtocolError);

    auto rmmod = encode_payload(Rmmod{.name = "m", .force = false});
    rmmod.back() = '\x02';
    CHECK_THROWS_AS(decode_payload<Rmmod>(rmmod), ProtocolError);

    auto run = encode_payload(Run{.argv = {}, .cwd = "", .input = false, .rows = 0, .cols = 0});
    // count, cwd length, then the flag.
    REQUIRE(run.size() == 4 + 4 + 1 + 4 + 4);
    run[8] = '\x02';
    CHECK_THROWS_AS(decode_payload<Run>(run), ProtocolError);
    run[8] = '\x01';
    CHECK(decode_payload<Run>(run).input);
}

TEST_CASE("a stream number other than 1 (out) or 2 (err) does not decode", "[protocol]")
{
    auto payload = encode_payload(Output{.stream = Stream::out, .data = "x"});
    for (char byte : {'\x00', '\x03', '\xff'}) {
        payload[0] = byte;
        CHECK_THROWS_WITH(decode_payload<Output>(payload), Contains("no stream has number"));
    }
    payload[0] = '\x02';
    CHECK(decode_payload<Output>(payload).stream == Stream::err);
}

TEST_CASE("a string list claiming more strings than its payload can hold is refused",
          "[protocol]")
{
    auto payload = encode_payload(Run{.argv = {"a", "b"}, .cwd = "/"});
    for (std::uint32_t count : {0xffffffffu, 0x40000000u}) {
        std::string forged;
        put_u32(forged, count);
        forged += payload.substr(4);
        INFO("a count of " << count);
        CHECK_THROWS_WITH(decode_payload<Run>(forged), Contains("strings"));
    }
    // One more string than the bytes that follow could hold, at 4 bytes
    // each at least.
    std::string forged;
    put_u32(forged, static_cast<std::uint32_t>((payload.size() - 4) / 4 + 1));
    forged += payload.substr(4);
    CHECK_THROWS_AS(decode_payload<Run>(forged), ProtocolError);
}

TEST_CASE("a list of empty strings decodes: each takes just its length", "[protocol]")
{
    const Run sent{.argv = {"", "", ""}, .cwd = "", .input = false, .rows = 1, .cols = 1};
    check_same(decode_payload<Run>(encode_payload(sent)), sent);
}

TEST_CASE("a string longer than what is left of its payload does not decode", "[protocol]")
{
    for (std::uint32_t length : {0xffffffffu, 6u}) {
        std::string payload;
        put_u32(payload, length);
        payload += "/proc";
        INFO("a length of " << length);
        CHECK_THROWS_WITH(decode_payload<GetFile>(payload), Contains("runs past its end"));
    }
}

TEST_CASE("a header without the magic means the channel is out of step", "[protocol]")
{
    auto bytes = encode(Frame{Type::Ping, 1, ""});
    SECTION("a wrong magic with a good checksum")
    {
        FrameReader reader;
        auto forged = header(0x44534d4c, 2, 1, 0, crc32(""));
        reader.feed(forged.data(), forged.size());
        CHECK_THROWS_WITH(reader.next(), Contains("magic"));
    }
    SECTION("a stray byte before the frame")
    {
        FrameReader reader;
        auto shifted = "\n" + bytes;
        reader.feed(shifted.data(), shifted.size());
        CHECK_THROWS_WITH(reader.next(), Contains("magic"));
    }
    SECTION("nothing is judged before a whole header has arrived")
    {
        FrameReader reader;
        std::string garbage(header_size - 1, 'x');
        reader.feed(garbage.data(), garbage.size());
        CHECK_FALSE(reader.next());
        reader.feed("x", 1);
        CHECK_THROWS_AS(reader.next(), ProtocolError);
    }
}

TEST_CASE("a header that fails its checksum is refused", "[protocol]")
{
    auto bytes = encode(Frame{Type::Run, 5, encode_payload(sample<Run>())});
    // Every header byte after the magic is covered: the type, the reserved
    // field, the id, the length, the payload's CRC, and the CRC itself.
    for (std::size_t at = 4; at < header_size; ++at) {
        INFO("byte " << at << " flipped");
        auto corrupt = bytes;
        corrupt[at] = static_cast<char>(corrupt[at] ^ 0x10);
        FrameReader reader;
        reader.feed(corrupt.data(), corrupt.size());
        CHECK_THROWS_WITH(reader.next(), Contains("header fails its checksum"));
    }
}

TEST_CASE("a payload that fails its checksum is refused once it has all arrived",
          "[protocol]")
{
    auto payload = encode_payload(sample<KernelLog>());
    auto bytes = encode(Frame{Type::KernelLog, 9, payload});
    bytes[header_size + payload.size() / 2] ^= 0x01;
    FrameReader reader;
    reader.feed(bytes.data(), bytes.size() - 1);
    CHECK_FALSE(reader.next());
    reader.feed(&bytes.back(), 1);
    CHECK_THROWS_WITH(reader.next(), Contains("payload of a KernelLog frame fails its checksum"));

    SECTION("a header whose payload CRC is of other bytes")
    {
        FrameReader other;
        auto forged = header(frame_magic, 46, 9, static_cast<std::uint32_t>(payload.size()),
                             crc32(payload) ^ 1) +
                      payload;
        other.feed(forged.data(), forged.size());
        CHECK_THROWS_AS(other.next(), ProtocolError);
    }
}

TEST_CASE("a length over max_payload is refused as soon as its header arrives", "[protocol]")
{
    FrameReader reader;
    auto oversized = header(frame_magic, 22, 1, max_payload + 1, 0);
    reader.feed(oversized.data(), oversized.size());
    CHECK_THROWS_WITH(reader.next(), Contains("claims " + std::to_string(max_payload + 1)));

    FrameReader huge;
    auto largest = header(frame_magic, 22, 1, 0xffffffff, 0);
    huge.feed(largest.data(), largest.size());
    CHECK_THROWS_AS(huge.next(), ProtocolError);

    // At the limit itself the reader waits for the rest of the payload.
    FrameReader limit;
    auto at_limit = header(frame_magic, 22, 1, max_payload, 0);
    limit.feed(at_limit.data(), at_limit.size());
    CHECK_FALSE(limit.next());
    CHECK(limit.buffered() == header_size);
}

TEST_CASE("encode refuses a payload over max_payload", "[protocol]")
{
    const Frame oversized{Type::FileData, 1, std::string(max_payload + 1, '\0')};
    CHECK_THROWS_WITH(encode(oversized),
                      Contains("FileData") && Contains("over the protocol's limit"));
}

TEST_CASE("decode refuses a frame of another type, naming both", "[protocol]")
{
    auto ping = frame(1, Ping{});
    CHECK_THROWS_WITH(decode<Hello>(ping), Contains("expected a Hello frame, got Ping"));
    // Same payload layout (one string), other type: still refused.
    auto get = frame(2, GetFile{.path = "/x"});
    CHECK_THROWS_AS(decode<FileData>(get), ProtocolError);
}

TEST_CASE("decode_any refuses a type number no message has", "[protocol]")
{
    for (std::uint16_t number : {0, 3, 17, 92, 0xffff}) {
        INFO("type " << number);
        CHECK_THROWS_WITH(decode_any(Frame{static_cast<Type>(number), 1, ""}),
                          Contains("unknown message type " + std::to_string(number)));
    }
}

TEST_CASE("type_name names a number no message has by the number", "[protocol]")
{
    CHECK(type_name(static_cast<Type>(17)) == "type 17");
    CHECK(type_name(static_cast<Type>(0)) == "type 0");
    CHECK(type_name(static_cast<Type>(65535)) == "type 65535");
    CHECK(type_name(Type::BootPassResult) == "BootPassResult");
}
