#include "tests/keyprovider/tpm2/swtpm_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "keyprovider/tpm2/esys.h"

extern char** environ;

namespace modelvault::keyprovider::test {
namespace {

using tpm2::EsysContext;
using tpm2::EsysPtr;

constexpr auto kPoll = std::chrono::milliseconds(5);
constexpr int kStartPolls = 1000;     // 5 s
constexpr int kStopPolls = 400;       // 2 s
constexpr uint32_t kCmdShutdown = 3;  // swtpm control channel, big endian

std::string SocketPath(const std::string& dir) { return dir + "/tpm.sock"; }
std::string CtrlPath(const std::string& dir) { return SocketPath(dir) + ".ctrl"; }

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// True if something accepts connections on the Unix socket at `path`. The socket file
// appears at bind(), before swtpm listens, so its existence alone is not enough.
bool Accepts(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (!fd.valid() || path.size() >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

// Asks swtpm to shut down over its control socket; false if it could not be told.
bool SendShutdown(const std::string& ctrl_path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (!fd.valid() || ctrl_path.size() >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, ctrl_path.c_str(), ctrl_path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return false;
  uint8_t cmd[4] = {0, 0, 0, static_cast<uint8_t>(kCmdShutdown)};
  if (::write(fd.get(), cmd, sizeof(cmd)) != static_cast<ssize_t>(sizeof(cmd))) return false;
  uint8_t response[4];
  return ::read(fd.get(), response, sizeof(response)) == static_cast<ssize_t>(sizeof(response));
}

// True once `pid` has exited (and is reaped) within `polls` * kPoll.
bool Reaped(pid_t pid, int polls) {
  for (int i = 0; i < polls; ++i) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    std::this_thread::sleep_for(kPoll);
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<Swtpm>> Swtpm::Start() {
  // /tmp rather than $TMPDIR: the socket path must fit in sun_path (108 bytes).
  char templ[] = "/tmp/mv-swtpm-XXXXXX";
  if (::mkdtemp(templ) == nullptr) return Status::FromErrno(errno, "mkdtemp /tmp/mv-swtpm-*");
  std::string dir = templ;
  std::vector<std::string> args = {"swtpm",
                                   "socket",
                                   "--tpm2",
                                   "--server",
                                   "type=unixio,path=" + SocketPath(dir),
                                   "--ctrl",
                                   "type=unixio,path=" + CtrlPath(dir),
                                   "--tpmstate",
                                   "dir=" + dir,
                                   "--flags",
                                   "not-need-init,startup-clear"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // swtpm chats on stdout/stderr ("Data client disconnected"); keep test output clean.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  int err = ::posix_spawnp(&pid, "swtpm", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) {
    std::filesystem::remove_all(dir);
    return Status::FromErrno(err, "starting swtpm");
  }
  std::unique_ptr<Swtpm> tpm(new Swtpm(dir, pid));
  MV_RETURN_IF_ERROR(tpm->WaitUntilServing());
  MV_RETURN_IF_ERROR(tpm->SetLockoutPolicy(32, 1000, 1000));
  return tpm;
}

Status Swtpm::WaitUntilServing() {
  for (int i = 0; i < kStartPolls; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      return Status::IOError("swtpm exited at start (status " + std::to_string(status) + ")");
    }
    if (Exists(SocketPath(dir_)) && Exists(CtrlPath(dir_)) && Accepts(SocketPath(dir_)) &&
        Accepts(CtrlPath(dir_))) {
      return Status::Ok();
    }
    std::this_thread::sleep_for(kPoll);
  }
  return Status::IOError("swtpm did not accept connections within 5 s");
}

Swtpm::~Swtpm() {
  bool told = SendShutdown(CtrlPath(dir_));
  if (!told || !Reaped(pid_, kStopPolls)) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string Swtpm::Tcti() const { return "swtpm:path=" + SocketPath(dir_); }

Status Swtpm::ExtendPcr(int pcr) {
  MV_ASSIGN_OR_RETURN(EsysContext ctx, EsysContext::Open(Tcti()));
  TPML_DIGEST_VALUES digests{};
  digests.count = 1;
  digests.digests[0].hashAlg = TPM2_ALG_SHA256;
  std::memset(digests.digests[0].digest.sha256, 0x5a, TPM2_SHA256_DIGEST_SIZE);
  TSS2_RC rc = Esys_PCR_Extend(ctx.get(), ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &digests);
  if (rc != TSS2_RC_SUCCESS) return ctx.Error(rc, "TPM2_PCR_Extend");
  return Status::Ok();
}

Result<int> Swtpm::CountHandles(uint32_t first) {
  MV_ASSIGN_OR_RETURN(EsysContext ctx, EsysContext::Open(Tcti()));
  TPMI_YES_NO more = TPM2_NO;
  TPMS_CAPABILITY_DATA* raw = nullptr;
  TSS2_RC rc = Esys_GetCapability(ctx.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  TPM2_CAP_HANDLES, first, TPM2_MAX_CAP_HANDLES, &more, &raw);
  EsysPtr<TPMS_CAPABILITY_DATA> data(raw);
  if (rc != TSS2_RC_SUCCESS) return ctx.Error(rc, "TPM2_GetCapability(handles)");
  // Only handles of the asked type: the list continues into the next type otherwise.
  int count = 0;
  for (uint32_t i = 0; i < data->data.handles.count; ++i) {
    if ((data->data.handles.handle[i] >> TPM2_HR_SHIFT) == (first >> TPM2_HR_SHIFT)) ++count;
  }
  return count;
}

Result<int> Swtpm::TransientObjects() {
  return CountHandles(static_cast<uint32_t>(TPM2_HT_TRANSIENT) << TPM2_HR_SHIFT);
}

Result<int> Swtpm::LoadedSessions() {
  return CountHandles(static_cast<uint32_t>(TPM2_HT_LOADED_SESSION) << TPM2_HR_SHIFT);
}

Status Swtpm::SetLockoutPolicy(uint32_t max_tries, uint32_t recovery_seconds,
                               uint32_t lockout_recovery_seconds) {
  MV_ASSIGN_OR_RETURN(EsysContext ctx, EsysContext::Open(Tcti()));
  TSS2_RC rc = Esys_DictionaryAttackParameters(ctx.get(), ESYS_TR_RH_LOCKOUT, ESYS_TR_PASSWORD,
                                               ESYS_TR_NONE, ESYS_TR_NONE, max_tries,
                                               recovery_seconds, lockout_recovery_seconds);
  if (rc != TSS2_RC_SUCCESS) return ctx.Error(rc, "TPM2_DictionaryAttackParameters");
  return Status::Ok();
}

}  // namespace modelvault::keyprovider::test
