#include "common/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace jepalab::common {
namespace {

absl::Status ErrnoStatus(int error, absl::string_view what) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(error));
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case EISDIR:
      return absl::InvalidArgumentError(message);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

// Closes the descriptor on every return path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, so that a failing close (e.g. a deferred write error) can be reported.
  int Close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  const std::string what = absl::StrCat("cannot read ", path);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, what);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, what);
  if (S_ISDIR(st.st_mode)) return ErrnoStatus(EISDIR, what);
  std::string text;
  // st_size is a hint (0 for /proc files): read until end of file either way.
  text.reserve(S_ISREG(st.st_mode) ? static_cast<size_t>(st.st_size) : 0);
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, what);
    }
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents) {
  const std::string temp = absl::StrCat(path, ".tmp");
  const std::string what = absl::StrCat("cannot write ", temp);
  {
    Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) return ErrnoStatus(errno, what);
    const char* data = contents.data();
    size_t left = contents.size();
    while (left > 0) {
      const ssize_t n = ::write(fd.get(), data, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int error = errno;
        ::unlink(temp.c_str());
        return ErrnoStatus(error, what);
      }
      data += n;
      left -= static_cast<size_t>(n);
    }
    if (fd.Close() != 0) {
      const int error = errno;
      ::unlink(temp.c_str());
      return ErrnoStatus(error, what);
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    return ErrnoStatus(error, absl::StrCat("cannot rename ", temp, " to ", path));
  }
  return absl::OkStatus();
}

std::string JoinPath(absl::string_view base_dir, absl::string_view path) {
  if (base_dir.empty() || (!path.empty() && path.front() == '/')) return std::string(path);
  if (path.empty()) return std::string(base_dir);
  return absl::StrCat(base_dir, base_dir.back() == '/' ? "" : "/", path);
}

}  // namespace jepalab::common
