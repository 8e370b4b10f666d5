// RAII over the PKCS#11 C API: a loaded module (dlopen + C_GetFunctionList + C_Initialize,
// undone by C_Finalize + dlclose), sessions (C_CloseSession), a user login (C_Logout) and
// temporary objects (C_DestroyObject). Internal to keyprovider/pkcs11.
//
// Modules are shared: Module::Load returns the instance already live for the same library
// (by dlopen handle), because PKCS#11 state is per process: a second C_Initialize fails
// with CKR_CRYPTOKI_ALREADY_INITIALIZED, and one user's C_Finalize would pull the module
// from under another. If some other code in the process initialized the module first, we
// use it and never finalize it.
//
// Thread-safety: Load and the destructor are thread-safe (a process-wide registry lock).
// The module is initialized with CKF_OS_LOCKING_OK, so sessions may be used from several
// threads, but login state is shared by every session of the process on a token; callers
// hold Module::mutex() across login, use and logout. Session, Login and ObjectGuard are
// move-only and thread-compatible.
#pragma once

#include <p11-kit/pkcs11.h>

#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace modelvault::keyprovider::pkcs11 {

// "CKR_PIN_INCORRECT" (or "CKR_0x...") for messages.
std::string RvName(CK_RV rv);
// True for failures of the host, the device or the connection to it, as opposed to a
// refusal of what was asked.
bool IsDeviceError(CK_RV rv);
// The failure of a PKCS#11 call `what` ("C_OpenSession") as a Status: IOError for device
// errors (IsDeviceError), Internal for the rest. The message names `what` and the CKR.
Status RvError(std::string_view what, CK_RV rv);
// A blank-padded fixed-width PKCS#11 text field (CK_TOKEN_INFO.label, ...) without padding.
std::string FixedString(std::span<const unsigned char> field);

class Module {
 public:
  // The module at `path`, or p11-kit's proxy module when `path` is empty. NotFound or
  // InvalidArgument naming the path and dlerror() when it cannot be loaded.
  static Result<std::shared_ptr<Module>> Load(const std::string& path);
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST* fn() const { return fn_; }
  const std::string& path() const { return path_; }
  // Held across login .. logout; see the file comment.
  std::mutex& mutex() { return mutex_; }

 private:
  struct DlCloser {
    void operator()(void* handle) const;
  };
  using DlHandle = std::unique_ptr<void, DlCloser>;
  Module(std::string path, DlHandle handle, CK_FUNCTION_LIST* fn, bool finalize)
      : path_(std::move(path)), handle_(std::move(handle)), fn_(fn), finalize_(finalize) {}

  const std::string path_;
  DlHandle handle_;
  CK_FUNCTION_LIST* const fn_;
  const bool finalize_;  // false if someone else in the process initialized the module
  std::mutex mutex_;
};

class Session {
 public:
  static Result<Session> Open(std::shared_ptr<Module> module, CK_SLOT_ID slot);
  Session(Session&& other) noexcept
      : module_(std::move(other.module_)), handle_(std::exchange(other.handle_, 0)) {}
  Session& operator=(Session&&) = delete;
  ~Session();

  CK_FUNCTION_LIST* fn() const { return module_->fn(); }
  CK_SESSION_HANDLE handle() const { return handle_; }

  // The value of one attribute of `object`; an error if unavailable or sensitive.
  Result<std::vector<uint8_t>> Attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const;
  // The same into locked memory, for key bytes.
  Result<SecretBytes> SecretAttribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const;
  // Every object matching `tmpl` (C_FindObjects*).
  Result<std::vector<CK_OBJECT_HANDLE>> Find(std::span<CK_ATTRIBUTE> tmpl) const;

 private:
  Session(std::shared_ptr<Module> module, CK_SESSION_HANDLE handle)
      : module_(std::move(module)), handle_(handle) {}
  std::shared_ptr<Module> module_;
  CK_SESSION_HANDLE handle_;
};

// A user login on the session's token: C_Logout when destroyed, unless the token was
// already logged in (then the login belongs to someone else).
class Login {
 public:
  // The raw CKR on failure (the caller turns PIN errors into messages naming the token).
  static CK_RV Open(const Session& session, const SecretBytes& pin, Login* out);
  Login() = default;
  Login(Login&& other) noexcept
      : fn_(std::exchange(other.fn_, nullptr)), session_(std::exchange(other.session_, 0)) {}
  Login& operator=(Login&& other) noexcept;
  ~Login();

 private:
  CK_FUNCTION_LIST* fn_ = nullptr;  // null: nothing to log out
  CK_SESSION_HANDLE session_ = 0;
};

// A temporary (session) object, destroyed with the guard.
class ObjectGuard {
 public:
  ObjectGuard(const Session& session, CK_OBJECT_HANDLE object)
      : session_(session), object_(object) {}
  ObjectGuard(const ObjectGuard&) = delete;
  ObjectGuard& operator=(const ObjectGuard&) = delete;
  ~ObjectGuard() { session_.fn()->C_DestroyObject(session_.handle(), object_); }
  CK_OBJECT_HANDLE get() const { return object_; }

 private:
  const Session& session_;
  const CK_OBJECT_HANDLE object_;
};

}  // namespace modelvault::keyprovider::pkcs11
