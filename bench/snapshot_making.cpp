// SPDX-License-Identifier: GPL-2.0
#include "snapshot_making.hpp"

#include "process.hpp"
#include "snapshot_store.hpp"  // the library's snapshot_suffix
#include "temp_dir.hpp"

#include "kmsdk/guest.hpp"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <sys/stat.h>

namespace kmsdk::bench {
namespace fs = std::filesystem;

SnapshotMaking measure_snapshot_making(const std::string& release, unsigned count)
{
    SnapshotMaking making;
    for (unsigned i = 1; i <= count; ++i) {
        check_interrupted();
        // In TMPDIR (the same disk as the cache here; see bench/README.md).
        detail::TempDir folder{"kmsdk-bench-snap"};
        std::vector<std::string> notices;
        auto started = Clock::now();
        std::optional<Guest> guest;
        {
            // The runtime picks the snapshot's path in the constructor.
            ScopedEnv dir{"KMSDK_SNAPSHOT_DIR", folder.path().c_str()};
            ScopedEnv warm{"KMSDK_COLD", nullptr};
            guest.emplace(GuestOptions{}.kernel(release).on_notice(
                [&notices](const std::string& notice) { notices.push_back(notice); }));
        }
        making.construct_ms.push_back(ms_since(started));
        auto stats = guest->boot_stats();  // a copy: the guest goes now
        guest.reset();

        // What the files take on disk: the RAM file is sparse.
        std::optional<std::uintmax_t> stream;
        std::uintmax_t disk = 0;
        std::error_code error;
        for (const auto& entry : fs::recursive_directory_iterator{folder.path(), error}) {
            struct stat st {};
            if (!entry.is_regular_file() || ::stat(entry.path().c_str(), &st) != 0)
                continue;
            disk += static_cast<std::uintmax_t>(st.st_blocks) * 512;
            if (entry.path().extension().string() == detail::snapshot_suffix)
                stream = entry.file_size();
        }
        if (stats.snapshot_save.count() == 0 || !stream) {
            making.problems.push_back(fmt::format(
                "guest {} of {} made no snapshot in {}{}{}", i, count, folder.path().string(),
                notices.empty() ? "" : ": ", fmt::join(notices, "; ")));
            continue;
        }
        making.save_ms.push_back(
            std::chrono::duration<double, std::milli>(stats.snapshot_save).count());
        making.stream_mb.push_back(static_cast<double>(*stream) / 1e6);
        making.disk_mb.push_back(static_cast<double>(disk) / 1e6);
    }
    return making;
}

}  // namespace kmsdk::bench
