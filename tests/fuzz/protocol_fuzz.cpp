// SPDX-License-Identifier: GPL-2.0
// libFuzzer target for the protocol's reading side. Both ends read what the
// other wrote through a channel that can break (or a guest kernel that can
// scribble on it), so whatever the bytes, FrameReader and the decoders give
// a frame, a message, or a ProtocolError: never a crash, a leak or
// undefined behaviour (the fuzz build aborts on all three). What they do
// give must be exact:
// - A stream cut into pieces (their sizes taken from the input too) gives
//   the same frames, and fails at the same frame, as the same bytes fed in
//   one piece: reassembly does not depend on how reads split the stream.
// - A frame the reader gives encodes and reads back unchanged.
// - A message that decodes encodes back to exactly the payload it came
//   from, so no two payloads mean the same message; and decode_any picks
//   the message its frame's type names.
// The input is also decoded directly, as the payload of the message its
// first byte chooses: inside a frame a payload must first pass its CRC,
// which a mutation rarely keeps.
#include "kmsdk/proto/frame.hpp"
#include "kmsdk/proto/messages.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace {

using namespace kmsdk::proto;

[[noreturn]] void fail(const std::string& what)
{
    std::fprintf(stderr, "protocol_fuzz: %s\n", what.c_str());
    std::abort();
}

template <class M>
void check_re_encodes(const M& message, std::string_view payload)
{
    if (encode_payload(message) != payload)
        fail("a " + type_name(M::type) + " re-encodes to other bytes than it was decoded from");
}

template <class M>
void decode_as(std::string_view payload)
{
    std::optional<M> message;
    try {
        message = decode_payload<M>(payload);
    } catch (const ProtocolError&) {
        return;
    }
    check_re_encodes(*message, payload);
}

// One message per input, not all 23: a payload that does not decode costs
// an exception, which under ASan is dear. Trying every message made the
// fuzzer about four times slower, for coverage the choice byte reaches too.
void decode_as_chosen_message(std::string_view input)
{
    if (input.empty())
        return;
    const std::size_t choice =
        static_cast<unsigned char>(input[0]) % std::variant_size_v<Message>;
    const auto payload = input.substr(1);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((I == choice ? decode_as<std::variant_alternative_t<I, Message>>(payload) : void()), ...);
    }(std::make_index_sequence<std::variant_size_v<Message>>{});
}

bool same(const Frame& a, const Frame& b)
{
    return a.type == b.type && a.id == b.id && a.payload == b.payload;
}

void check_frame(const Frame& frame)
{
    // The reader ignores the reserved field, so the frame, not the bytes it
    // came from, is what must survive.
    auto bytes = encode(frame);
    FrameReader again;
    again.feed(bytes.data(), bytes.size());
    auto reread = again.next();
    if (!reread || !same(*reread, frame) || again.buffered() != 0)
        fail("a " + type_name(frame.type) + " frame does not survive encode and FrameReader");

    std::optional<Message> message;
    try {
        message = decode_any(frame);
    } catch (const ProtocolError&) {
        return;
    }
    std::visit(
        [&]<class M>(const M& decoded) {
            if (M::type != frame.type)
                fail("decode_any made a " + type_name(M::type) + " of a " +
                     type_name(frame.type) + " frame");
            check_re_encodes(decoded, frame.payload);
        },
        *message);
}

struct Reading {
    std::vector<Frame> frames;
    bool failed = false;
};

// Every frame the reader has complete; false once it throws, as the
// channel is then broken for good.
bool drain(FrameReader& reader, Reading& reading)
{
    try {
        while (auto frame = reader.next())
            reading.frames.push_back(std::move(*frame));
        return true;
    } catch (const ProtocolError&) {
        reading.failed = true;
        return false;
    }
}

void read_stream(const std::uint8_t* data, std::size_t size)
{
    // Piece sizes come from the input's end, stream bytes from its front.
    FuzzedDataProvider input{data, size};
    FrameReader pieces_reader;
    Reading pieces;
    std::string fed;
    while (input.remaining_bytes() > 0) {
        auto piece = input.ConsumeBytes<char>(input.ConsumeIntegralInRange<std::size_t>(1, 64));
        pieces_reader.feed(piece.data(), piece.size());
        fed.append(piece.begin(), piece.end());
        if (!drain(pieces_reader, pieces))
            break;
    }

    FrameReader whole_reader;
    whole_reader.feed(fed.data(), fed.size());
    Reading whole;
    drain(whole_reader, whole);

    if (pieces.failed != whole.failed || pieces.frames.size() != whole.frames.size() ||
        pieces_reader.buffered() != whole_reader.buffered())
        fail("a stream fed in pieces reads otherwise than fed whole");
    std::size_t consumed = 0;
    for (std::size_t i = 0; i < pieces.frames.size(); ++i) {
        if (!same(pieces.frames[i], whole.frames[i]))
            fail("a frame fed in pieces differs from the same frame fed whole");
        consumed += header_size + pieces.frames[i].payload.size();
    }
    // A frame that fails is not consumed: it stays buffered.
    if (consumed + whole_reader.buffered() != fed.size())
        fail("the reader's frames and buffer do not add up to what it was fed");

    for (const auto& frame : pieces.frames)
        check_frame(frame);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    read_stream(data, size);
    decode_as_chosen_message({reinterpret_cast<const char*>(data), size});
    return 0;
}
