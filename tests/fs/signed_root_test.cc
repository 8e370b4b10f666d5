// SignedRoot (fs/signed_root.h) on a real signed backing tree, without a mount: the leaf
// hashes of an open file are shared by its opens and freed with the last one.
#include "fs/signed_root.h"

#include <fcntl.h>

#include "fs/signed_tree.h"
#include "tests/volume/signed_tree_fixture.h"

namespace modelvault::volume::test {
namespace {

class SignedRootTest : public SignedTreeTest {
 protected:
  std::shared_ptr<fs::SignedRoot> Load() {
    fs::SignaturePolicy policy;
    policy.trusted = trusted_;
    for (int i = 0; i < 16; ++i) policy.volume_hex += "5a";  // the fixture's volume ID
    policy.state_file = state_.path() + "/state.json";
    policy.block_size = kTreeBs;
    dirfd_.Reset(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    return fs::SignedRoot::Load(dirfd_.get(), "", policy);
  }

  TempDir state_;
  UniqueFd dirfd_;
};

TEST_F(SignedRootTest, LeavesAreSharedByOpensAndFreedWithTheLast) {
  auto root = Load();
  ASSERT_TRUE(root->status().ok()) << root->status().ToString();
  const ManifestEntry* entry = root->manifest().Find(paths_["weights.bin"]);
  ASSERT_NE(entry, nullptr);

  std::weak_ptr<const std::vector<crypto::Digest>> watch;
  {
    auto first = root->Leaves(*entry);
    auto second = root->Leaves(*entry);
    ASSERT_TRUE(first.ok() && second.ok());
    EXPECT_EQ(first->get(), second->get()) << "two opens of one file share one list";
    ASSERT_EQ((*first)->size(), 4u);
    watch = *first;
  }
  EXPECT_TRUE(watch.expired()) << "the signed root kept the list of a file no one has open";

  auto again = root->Leaves(*entry);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->size(), 4u);
}

TEST_F(SignedRootTest, ReloadedLeavesAreCheckedAgain) {
  auto root = Load();
  ASSERT_TRUE(root->status().ok()) << root->status().ToString();
  const ManifestEntry* entry = root->manifest().Find(paths_["weights.bin"]);
  ASSERT_NE(entry, nullptr);
  ASSERT_TRUE(root->Leaves(*entry).ok());  // loaded, checked, and released at once

  // The list changed on disk after its last open: the next open must not trust a copy.
  std::string list = ReadText(HashesFile("weights.bin"));
  list[0] = static_cast<char>(list[0] ^ 1);
  WriteText(HashesFile("weights.bin"), list);
  auto again = root->Leaves(*entry);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("does not match the manifest"), std::string::npos)
      << again.status().ToString();
}

}  // namespace
}  // namespace modelvault::volume::test
