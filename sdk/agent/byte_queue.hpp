// SPDX-License-Identifier: GPL-2.0
//
// Bytes waiting to go out of the port, in order. A writer may fill the
// room at the end in place (prepare, then commit), so a command's output
// goes from its pipe into the queue with one read(2) and no copy. Room is
// not zeroed: under TCG, clearing 64 KiB per frame is a cost like a copy.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace kmsdk::agent {

class ByteQueue {
public:
    // At least `size` writable bytes after what is queued; valid until the
    // next call that changes the queue.
    char* prepare(std::size_t size)
    {
        if (end_ + size > capacity_) {
            const std::size_t queued = this->size();
            if (queued + size <= capacity_ && begin_ >= queued) {
                // Slide down: cheaper than growing, and the queued part is
                // at most as large as what was written since the last slide.
                std::memcpy(data_.get(), data_.get() + begin_, queued);
            } else {
                const std::size_t capacity = std::max(queued + size, 2 * capacity_);
                auto grown = std::make_unique_for_overwrite<char[]>(capacity);
                if (queued > 0)
                    std::memcpy(grown.get(), data_.get() + begin_, queued);
                data_ = std::move(grown);
                capacity_ = capacity;
            }
            begin_ = 0;
            end_ = queued;
        }
        return data_.get() + end_;
    }
    // The first `size` bytes of the last prepare() are now queued.
    void commit(std::size_t size) { end_ += size; }

    void append(std::string_view bytes)
    {
        // An empty queue has no buffer, and memcpy wants one even for 0 bytes.
        if (bytes.empty())
            return;
        std::memcpy(prepare(bytes.size()), bytes.data(), bytes.size());
        commit(bytes.size());
    }

    std::string_view front() const { return {data_.get() + begin_, size()}; }
    // The first `size` bytes have been written.
    void consume(std::size_t size)
    {
        begin_ += size;
        if (begin_ == end_)
            begin_ = end_ = 0;
    }
    std::size_t size() const { return end_ - begin_; }
    bool empty() const { return begin_ == end_; }

    // Empties the queue; its memory goes too when it has grown past
    // keep_capacity (a large file's reply should not stay resident).
    void clear(std::size_t keep_capacity = 0)
    {
        begin_ = end_ = 0;
        if (capacity_ > keep_capacity) {
            data_.reset();
            capacity_ = 0;
        }
    }

private:
    std::unique_ptr<char[]> data_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

}  // namespace kmsdk::agent
