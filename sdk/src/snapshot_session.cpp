// SPDX-License-Identifier: GPL-2.0
#include "snapshot_session.hpp"

#include "kmsdk/cache.hpp"
#include "qmp.hpp"
#include "text.hpp"

#include <fmt/format.h>

#include <ctime>
#include <future>
#include <sys/stat.h>
#include <thread>

namespace kmsdk::detail {
namespace {

// Which file is at `path` now (inode and change time), so that one found
// broken is not tried again until it is replaced.
std::string file_identity(const std::filesystem::path& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return {};
    return fmt::format("{}:{}.{}", st.st_ino, st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

std::chrono::milliseconds ms(std::chrono::nanoseconds duration)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(duration);
}

}  // namespace

SnapshotSession::SnapshotSession(const MachineConfig& config, const std::filesystem::path& dir,
                                 Notice notice)
    : notice_{std::move(notice)}
{
    auto slot = ContentHash{}.add(config.memory_mb).add(config.accel).add(config.kernel_cmdline);
    // One CPU, the default, leaves the hash as it was before CPUs counted.
    if (config.cpus != 1)
        slot.add(fmt::format("cpus={}", config.cpus));
    std::string devices;
    for (const auto& device : config.devices) {
        slot.add(device);
        devices += (devices.empty() ? "" : " ") + device;
    }
    path_ = dir / fmt::format("m{}-{}{}", config.memory_mb, slot.hex().substr(0, 12),
                              snapshot_suffix);
    key_ = ContentHash{}.add(machine_identity(config)).hex();
    machine_ = fmt::format("{} MiB, {}{}, devices: {}", config.memory_mb,
                           config.cpus == 1 ? "" : fmt::format("{} CPUs, ", config.cpus),
                           config.accel, devices.empty() ? "none" : devices);
}

void SnapshotSession::unusable(std::string why)
{
    auto identity = file_identity(path_);
    if (identity == reported_broken_)
        return;
    reported_broken_ = identity;
    notice_(fmt::format("the snapshot {} is {}; booting cold and replacing it", path_.string(),
                        one_line(std::move(why))));
}

std::optional<Machine> SnapshotSession::restore(const MachineConfig& base,
                                                std::chrono::milliseconds timeout,
                                                const WaitCheck& check)
{
    if (!reported_broken_.empty() && file_identity(path_) == reported_broken_)
        return std::nullopt;
    std::optional<SnapshotFile> file;
    try {
        file = open_snapshot(path_, key_);
    } catch (const SnapshotBroken& broken) {
        unusable(broken.what());
        return std::nullopt;
    }
    if (!file)
        return std::nullopt;

    auto config = base;
    config.incoming_fd = file->fd.get();
    // Checked while QEMU loads it; the guest runs only once it passed.
    auto intact = std::async(std::launch::async,
                             [&file] { return stream_intact(file->fd.get(), file->header); });
    auto qemu = launch(config);
    Deadline deadline{timeout};
    std::string why;
    try {
        auto qmp = Qmp::connect(config.qmp_socket, deadline);
        std::string state;
        while ((state = qmp.execute("query-status", deadline).value("status", "")) == "inmigrate") {
            check();
            if (deadline.expired())
                throw std::runtime_error(
                    fmt::format("QEMU was still loading it after {}", seconds(timeout)));
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        if (!intact.get())
            why = "corrupt: its stream does not have the checksum it was saved with";
        else if (state != "paused")
            why = fmt::format("not loadable: QEMU is {} after loading it", state);
        else {
            qmp.execute("cont", deadline);
            auto started = await_agent(std::move(qemu), config, deadline, check);
            if (started)
                return started.take();
            why = fmt::format("not usable: the restored guest failed ({})", started.failure().reason);
        }
    } catch (const Interrupted&) {
        throw;
    } catch (const std::exception& error) {
        auto status = qemu.pid() > 0 ? qemu.wait_for(std::chrono::milliseconds(500)) : std::nullopt;
        why = fmt::format("not loadable: {}",
                          status ? qemu_exit_failure(*status, config).reason : error.what());
    }
    if (intact.valid())
        intact.wait();
    unusable(why);
    return std::nullopt;
}

std::optional<SnapshotLock> SnapshotSession::claim(std::chrono::milliseconds patience,
                                                   const WaitCheck& check)
{
    auto lock = SnapshotLock::acquire(path_, Deadline{patience}, check);
    if (!lock)
        notice_(fmt::format("another run has been making the snapshot {} for over {}; "
                            "booting cold without it",
                            path_.string(), seconds(patience)));
    return lock;
}

std::optional<std::chrono::nanoseconds> SnapshotSession::save(const MachineConfig& config)
{
    auto started = std::chrono::steady_clock::now();
    try {
        SnapshotWriter writer{path_};
        Deadline deadline{std::chrono::seconds(60)};
        auto qmp = Qmp::connect(config.qmp_socket, deadline);
        qmp.execute("stop", deadline);
        std::string failure;
        try {
            qmp.pass_fd("snapshot", writer.fd(), deadline);
            qmp.execute("migrate", {{"uri", "fd:snapshot"}}, deadline);
            for (;;) {
                auto progress = qmp.execute("query-migrate", deadline);
                auto status = progress.value("status", "");
                if (status == "completed")
                    break;
                if (status == "failed" || status == "cancelled") {
                    failure = progress.value("error-desc", "QEMU's migration " + status);
                    break;
                }
                if (deadline.expired()) {
                    qmp.execute("migrate_cancel", Deadline{std::chrono::seconds(5)});
                    failure = "QEMU had not written it after 60 s";
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        } catch (const std::exception& error) {
            failure = error.what();
        }
        qmp.execute("cont", Deadline{std::chrono::seconds(5)});
        if (!failure.empty())
            throw std::runtime_error(failure);
        auto took = std::chrono::steady_clock::now() - started;
        writer.commit(SnapshotHeader{
            .key = key_,
            .machine = machine_,
            .created = std::time(nullptr),
            .save_ms = static_cast<std::uint64_t>(ms(took).count()),
        });
        reported_broken_.clear();
        return std::chrono::steady_clock::now() - started;
    } catch (const std::exception& error) {
        notice_(fmt::format("could not save a snapshot into {} ({}); going on without one",
                            path_.parent_path().string(), one_line(error.what())));
        return std::nullopt;
    }
}

}  // namespace kmsdk::detail
