// SPDX-License-Identifier: GPL-2.0
// What remove_abandoned() takes for abandoned: the folders of owners that
// are gone or are zombies, never those of a live owner.
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <filesystem>

#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using kmsdk::detail::remove_abandoned;

namespace {

constexpr const char* prefix = "kmsdk-tempdir-unit";

fs::path folder_of(pid_t owner)
{
    auto path = fs::temp_directory_path() / fmt::format("{}-{}-test", prefix, owner);
    fs::create_directories(path / "inside");
    return path;
}

// A child that has exited and is not yet reaped.
pid_t zombie()
{
    pid_t pid = ::fork();
    if (pid == 0)
        ::_exit(0);
    REQUIRE(pid > 0);
    // Until it has exited, it is alive; waitid with WNOWAIT leaves it a zombie.
    siginfo_t info{};
    REQUIRE(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) == 0);
    return pid;
}

}  // namespace

TEST_CASE("remove_abandoned keeps a live owner's folder and removes a gone or zombie one's",
          "[temp_dir]")
{
    auto mine = folder_of(::getpid());

    pid_t reaped = zombie();
    REQUIRE(::waitpid(reaped, nullptr, 0) == reaped);
    auto gone = folder_of(reaped);

    pid_t undead = zombie();
    auto zombies = folder_of(undead);

    remove_abandoned(prefix);
    CHECK(fs::exists(mine));
    CHECK_FALSE(fs::exists(gone));
    CHECK_FALSE(fs::exists(zombies));

    ::waitpid(undead, nullptr, 0);
    fs::remove_all(mine);
}
