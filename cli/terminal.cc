#include "cli/terminal.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "base/file_util.h"
#include "base/unique_fd.h"

namespace modelvault::cli {
namespace {

// "\n" or "\r\n" at the end; a lone "\r" is part of the secret.
SecretBytes WithoutLineEnd(const SecretBytes& text) {
  size_t n = text.size();
  if (n > 0 && text.data()[n - 1] == '\n') {
    --n;
    if (n > 0 && text.data()[n - 1] == '\r') --n;
  }
  return SecretBytes::CopyOf(text.span().first(n));
}

// Puts the terminal back as it was, however the prompt ends.
class EchoOff {
 public:
  EchoOff(int fd, const termios& saved) : fd_(fd), saved_(saved) {}
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;
  ~EchoOff() { tcsetattr(fd_, TCSAFLUSH, &saved_); }

 private:
  int fd_;
  termios saved_;
};

}  // namespace

bool CanPrompt() { return isatty(STDIN_FILENO) == 1; }

Result<SecretBytes> PromptSecret(const std::string& prompt) {
  UniqueFd tty(open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!tty.valid()) return Status::FromErrno(errno, "opening /dev/tty");
  termios saved;
  if (tcgetattr(tty.get(), &saved) != 0) return Status::FromErrno(errno, "/dev/tty");
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;  // the user still sees the line end
  if (write(tty.get(), prompt.data(), prompt.size()) < 0) {
    return Status::FromErrno(errno, "/dev/tty");
  }
  if (tcsetattr(tty.get(), TCSAFLUSH, &quiet) != 0) return Status::FromErrno(errno, "/dev/tty");
  EchoOff restore(tty.get(), saved);
  SecretBytes line(kMaxSecretText + 1);
  size_t len = 0;
  while (len < line.size() && (len == 0 || line.data()[len - 1] != '\n')) {
    ssize_t n = read(tty.get(), line.data() + len, line.size() - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "reading /dev/tty");
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  if (len == line.size()) return Status::InvalidArgument("the answer is too long");
  SecretBytes answer = WithoutLineEnd(SecretBytes::CopyOf(line.span().first(len)));
  if (answer.empty()) return Status::InvalidArgument("the answer is empty");
  return answer;
}

namespace {

std::string Bytes(uint64_t n) {
  char buf[32];
  if (n >= (uint64_t{1} << 30)) {
    std::snprintf(buf, sizeof(buf), "%.1f GiB", static_cast<double>(n) / (1 << 30));
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(n) / (1 << 20));
  }
  return buf;
}

}  // namespace

ProgressLine::ProgressLine(std::string label)
    : enabled_(isatty(STDERR_FILENO) == 1), label_(std::move(label)) {}

ProgressLine::~ProgressLine() {
  if (shown_) std::fputs("\r\033[K", stderr);
}

void ProgressLine::Update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (shown_ && done < total && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  shown_ = true;
  int percent = total == 0 ? 100 : static_cast<int>(done * 100 / total);
  std::fprintf(stderr, "\r\033[K%s  %s of %s (%d%%)", label_.c_str(), Bytes(done).c_str(),
               Bytes(total).c_str(), percent);
  std::fflush(stderr);
}

Result<SecretBytes> ReadSecretTextFile(const std::string& path, const std::string& what) {
  MV_ASSIGN_OR_RETURN(SecretBytes text, ReadSecretFile(path, kMaxSecretText));
  SecretBytes secret = WithoutLineEnd(text);
  if (secret.empty()) return Status::InvalidArgument(path + ": " + what + " is empty");
  return secret;
}

}  // namespace modelvault::cli
