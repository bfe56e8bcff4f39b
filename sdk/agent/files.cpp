// SPDX-License-Identifier: GPL-2.0
//
// PutFile and GetFile: whole files in both directions.
#include "requests.hpp"
#include "system.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace kmsdk::agent {
namespace {

std::string parent_of(const std::string& path)
{
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos)
        return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// Removes the temporary file unless the rename consumed it.
struct TemporaryFile {
    std::string path;
    bool keep = false;
    ~TemporaryFile()
    {
        if (!keep)
            ::unlink(path.c_str());
    }
};

// sysfs, procfs and debugfs files are kernel attributes: nothing can be
// renamed over them, and the kernel takes one write() as one value.
bool is_kernel_attribute(const std::string& path)
{
    return path.rfind("/sys/", 0) == 0 || path.rfind("/proc/", 0) == 0;
}

proto::Ok write_attribute(const std::string& path, const std::string& data)
{
    UniqueFd fd{::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC)};
    if (!fd)
        throw_errno("cannot open " + path);
    auto written = ::write(fd.get(), data.data(), data.size());
    if (written < 0)
        throw_errno("cannot write " + path);
    if (static_cast<std::size_t>(written) != data.size())
        throw RequestError(EIO, "the kernel took only part of the value written to " + path);
    return {};
}

}  // namespace

proto::Ok put_file(const proto::PutFile& request)
{
    const std::string& path = request.path;
    const std::string& data = request.data;
    auto mode = static_cast<mode_t>(request.mode & 07777);
    if (path.empty())
        throw RequestError(EINVAL, "PutFile needs a path");
    if (is_kernel_attribute(path))
        return write_attribute(path, data);

    if (!make_directories(parent_of(path)))
        throw_errno("cannot make the folder " + parent_of(path) + " for " + path);

    // Written aside and renamed over: a reader never sees half a file, and a
    // module being replaced is never a mix of two builds.
    TemporaryFile temporary{path + ".tmp"};
    {
        UniqueFd fd{::open(temporary.path.c_str(),
                           O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)};
        if (!fd)
            throw_errno("cannot write " + temporary.path);
        if (!write_all(fd.get(), data))
            throw_errno("cannot write " + temporary.path);
        // fchmod, not the open mode: the umask must not change what the host asked for.
        if (::fchmod(fd.get(), mode) != 0)
            throw_errno("cannot set the mode of " + temporary.path);
        if (::close(fd.release()) != 0)
            throw_errno("cannot write " + temporary.path);
    }
    if (::rename(temporary.path.c_str(), path.c_str()) != 0)
        throw_errno("cannot rename " + temporary.path + " to " + path);
    temporary.keep = true;
    return {};
}

proto::FileData get_file(const proto::GetFile& request)
{
    const std::string& path = request.path;
    // The reply's length field and the bytes field must fit in one frame.
    auto content = read_whole_file(path, proto::max_payload - 4);
    if (!content) {
        int error = errno;
        throw RequestError(error, "cannot read " + path + ": " + errno_text(error));
    }
    return proto::FileData{std::move(*content)};
}

}  // namespace kmsdk::agent
