// SPDX-License-Identifier: GPL-2.0
// The agent's outbound queue without a guest: bytes come out in the order
// they went in, however writes, in-place frames and partial sends
// interleave, through every slide and growth of its buffer.
#include "byte_queue.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <string>

using kmsdk::agent::ByteQueue;

TEST_CASE("the outbound queue hands bytes out in order through slides and growth",
          "[byte_queue]")
{
    ByteQueue queue;
    std::string expected;  // what went in and has not yet come out
    std::string sent;
    std::string written;
    unsigned next = 0;
    auto piece = [&next](std::size_t size) {
        std::string bytes;
        for (std::size_t i = 0; i < size; ++i)
            bytes += static_cast<char>('a' + next++ % 26);
        return bytes;
    };
    for (std::size_t step = 0; step < 400; ++step) {
        const std::size_t size = (step * 7919) % 70000;
        auto bytes = piece(size);
        if (step % 2 == 0) {
            queue.append(bytes);
        } else {
            // In place, with more room asked than is used, as a read does.
            char* room = queue.prepare(size + 4096);
            std::memcpy(room, bytes.data(), size);
            queue.commit(size);
        }
        written += bytes;
        REQUIRE(queue.size() == written.size() - sent.size());
        // A partial send, as the port takes at most 32 KiB per write.
        const std::size_t taken = std::min<std::size_t>(queue.size(), (step * 104729) % 90000);
        sent += std::string{queue.front().substr(0, taken)};
        queue.consume(taken);
    }
    sent += std::string{queue.front()};
    queue.consume(queue.size());
    CHECK(queue.empty());
    CHECK(sent == written);
}

TEST_CASE("clearing the outbound queue keeps a small buffer and frees a large one",
          "[byte_queue]")
{
    ByteQueue queue;
    queue.append(std::string(1000, 'x'));
    queue.clear(4096);
    CHECK(queue.empty());
    queue.append("after");
    CHECK(queue.front() == "after");
    queue.append(std::string(10000, 'y'));
    queue.clear(4096);
    CHECK(queue.empty());
    queue.append("again");
    CHECK(queue.front() == "again");
}
