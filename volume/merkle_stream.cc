#include "volume/merkle_stream.h"

#include <array>
#include <cstring>
#include <span>

#include "volume/manifest.h"

namespace modelvault::volume::internal {

crypto::Digest MerkleNode(const crypto::Digest& left, const crypto::Digest& right) {
  std::array<uint8_t, 65> node;
  node[0] = 0x01;
  std::memcpy(node.data() + 1, left.data(), left.size());
  std::memcpy(node.data() + 33, right.data(), right.size());
  return crypto::Sha256(node);
}

void MerkleStream::Add(const crypto::Digest& leaf) {
  ++count_;
  Subtree top{leaf, 0};
  while (!stack_.empty() && stack_.back().height == top.height) {
    top = {MerkleNode(stack_.back().root, top.root), top.height + 1};
    stack_.pop_back();
  }
  stack_.push_back(top);
}

crypto::Digest MerkleStream::Root() const {
  if (stack_.empty()) return MerkleRoot({});
  crypto::Digest acc = stack_.back().root;
  for (size_t i = stack_.size() - 1; i-- > 0;) acc = MerkleNode(stack_[i].root, acc);
  return acc;
}

}  // namespace modelvault::volume::internal
