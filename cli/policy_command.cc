// `modelvault policy check --config FILE [--policy POLICY]`: holds a store (its header, read
// without a key) and its mount config to a policy's rules (config/store_policy.h).
#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "config/mount_config.h"
#include "config/store_policy.h"
#include "volume/volume_header.h"

namespace modelvault::cli {
namespace {

constexpr char kHostPolicy[] = "/etc/modelvault/policy.yaml";

struct PolicyArgs {
  std::string config, policy;
};

// --policy, else this host's policy, else the one installed with the program; "" if
// neither of those exists.
std::string PolicyPath(const std::string& given) {
  if (!given.empty()) return given;
  if (access(kHostPolicy, F_OK) == 0) return kHostPolicy;
  if (access(MODELVAULT_DEFAULT_POLICY, F_OK) == 0) return MODELVAULT_DEFAULT_POLICY;
  return "";
}

Outcome RunPolicyCheck(const PolicyArgs& a) {
  // A missing or malformed policy checks nothing: exit 2.
  std::string policy_path = PolicyPath(a.policy);
  if (policy_path.empty()) {
    return {Status::NotFound(std::string("no policy: neither ") + kHostPolicy + " nor " +
                             MODELVAULT_DEFAULT_POLICY + " exists; give one with --policy"),
            2};
  }
  config::CheckedPolicy checked_policy = config::CheckStorePolicy(policy_path);
  if (!checked_policy.problems.empty()) {
    for (const std::string& problem : checked_policy.problems) std::cout << problem << "\n";
    return {Status::InvalidArgument(policy_path + ": " +
                                    std::to_string(checked_policy.problems.size()) +
                                    " problem(s) in the policy"),
            2};
  }
  const config::StorePolicy* policy = &checked_policy.policy;
  config::CheckedConfig checked = config::CheckMountConfig(a.config);
  if (!checked.problems.empty()) {
    for (const std::string& problem : checked.problems) std::cout << problem << "\n";
    return {Status::InvalidArgument(a.config + ": " + std::to_string(checked.problems.size()) +
                                    " problem(s); run `modelvault config check` on it")};
  }
  auto header = volume::ReadVolumeHeader(checked.config.backing);
  if (!header.ok()) return {header.status()};
  auto violations = config::EvaluatePolicy(*policy, *header, checked.config);
  for (const config::Violation& v : violations) std::cout << v.rule << ": " << v.what << "\n";
  if (!violations.empty()) {
    return {Status::PermissionDenied(checked.config.backing + " breaks policy " + policy_path +
                                     ": " + std::to_string(violations.size()) + " violation(s)")};
  }
  std::cout << checked.config.backing << " and " << a.config << " meet policy " << policy_path
            << " (" << policy->rules.size() << " rule(s))\n";
  return {Status::Ok()};
}

}  // namespace

void AddPolicyCommand(CLI::App& app) {
  CLI::App* policy = app.add_subcommand("policy", "Check stores against a host's policy");
  policy->require_subcommand(1);
  policy->footer(
      "Examples:\n"
      "  modelvault policy check --config /etc/modelvault/models.yaml");
  CLI::App* check = policy->add_subcommand(
      "check", "Check a store's keyslots and its mount config against policy rules");
  check->footer(
      "Reads the store's header from the config's \"backing\" (no key needed; not\n"
      "authenticated) and the config itself, and prints each broken rule as \"RULE: what was\n"
      "found\". Exits 0 if every rule holds, 1 on a violation or an unusable config or store,\n"
      "2 if the policy is missing or malformed (each problem printed as \"FILE: line N:\n"
      "what\"). Rules: docs/POLICY.md.\n"
      "Without --policy: " +
      std::string(kHostPolicy) + " if it exists, else\n  " + MODELVAULT_DEFAULT_POLICY +
      "\n"
      "Examples:\n"
      "  modelvault policy check --config /etc/modelvault/models.yaml\n"
      "  modelvault policy check --config /etc/modelvault/models.yaml --policy strict.yaml");
  auto args = std::make_shared<PolicyArgs>();
  check->add_option("--config", args->config, "The store's YAML mount config")->required();
  check->add_option("--policy", args->policy, "The policy's YAML file");
  SetActionWithExit(check, [args] { return RunPolicyCheck(*args); });
}

}  // namespace modelvault::cli
