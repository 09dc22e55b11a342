#include "trainer_service/core/data/token_batch.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "trainer_service/core/data/token_prefetcher.h"
#include "trainer_service/core/data/training_samples.h"

namespace jepalab::trainer {
namespace {

Grid MakeGrid(int h, int w, std::vector<int> cells) {
  Grid g(h, w, 0);
  g.cells = std::move(cells);
  return g;
}

TEST(TokenBatchTest, LayoutMatchesTokenizer) {
  auto tokenizer = ObjectTokenizer::Create(ObjectTokenizerOptions{});
  ASSERT_TRUE(tokenizer.ok());
  GridSample a;
  a.context = {MakeGrid(2, 2, {1, 0, 0, 2}), MakeGrid(2, 2, {1, 0, 0, 2})};
  a.target = MakeGrid(2, 2, {3, 3, 0, 0});
  GridSample b;
  b.context = {MakeGrid(1, 3, {0, 4, 0}), MakeGrid(2, 2, {5, 5, 5, 5})};
  b.target = MakeGrid(1, 1, {0});
  TokenBatch batch;
  MakeTokenBatch({a, b}, {1, 0}, 2, &*tokenizer, &batch);
  const int64_t n = 16, f = 23;
  EXPECT_EQ(batch.size, 2);
  EXPECT_EQ(batch.context_window, 2);
  EXPECT_EQ(batch.max_objects, n);
  EXPECT_EQ(batch.feature_dim, f);
  ASSERT_EQ(batch.context_features.size(), static_cast<size_t>(2 * 2 * n * f));
  ASSERT_EQ(batch.target_adjacency.size(), static_cast<size_t>(2 * n * n));
  // Row 0 is sample b: its second context grid is one object; its target has none.
  const TokenizedGrid b1 = tokenizer->Tokenize(b.context[1]);
  for (int64_t k = 0; k < n * f; ++k) EXPECT_EQ(batch.context_features[n * f + k], b1.features[k]);
  EXPECT_EQ(batch.context_mask[n], 1.0f);
  EXPECT_EQ(batch.context_mask[n + 1], 0.0f);
  EXPECT_EQ(batch.target_mask[0], 0.0f);
  // Row 1 is sample a: two objects in each context copy, adjacency 0 (diagonal touch only at
  // 4-conn?).
  const TokenizedGrid a0 = tokenizer->Tokenize(a.context[0]);
  for (int t = 0; t < 2; ++t) {
    for (int64_t k = 0; k < n * f; ++k)
      EXPECT_EQ(batch.context_features[(2 + t) * n * f + k], a0.features[k]);
    for (int64_t k = 0; k < n * n; ++k)
      EXPECT_EQ(batch.context_adjacency[(2 + t) * n * n + k], a0.adjacency[k]);
  }
  EXPECT_EQ(batch.target_mask[n], 1.0f);
}

TEST(TokenBatchTest, GeneratorSamplesAndPrefetcher) {
  config::v1::TrainerConfig config;
  auto* g = config.mutable_data()->mutable_generator();
  g->set_num_atomic(12);
  g->set_num_sequential(4);
  auto loaded = LoadTrainingSamples(config, 2);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->samples.size(), 16u);
  for (const auto& s : loaded->samples) {
    ASSERT_EQ(s.context.size(), 3u);
    EXPECT_EQ(s.context[0], s.context[2]);
  }
  auto tokenizer = ObjectTokenizer::Create(ObjectTokenizerOptions{});
  ASSERT_TRUE(tokenizer.ok());
  TokenBatch direct;
  MakeTokenBatch(loaded->samples, {3, 4, 5}, 3, &*tokenizer, &direct);
  int transformed = 0;
  TokenPrefetcher prefetcher(&loaded->samples, {{0, 1, 2}, {3, 4, 5}}, 3, *tokenizer,
                             [&](int64_t, GridSample*) { ++transformed; });
  TokenBatch batch;
  ASSERT_TRUE(prefetcher.Next(&batch));
  ASSERT_TRUE(prefetcher.Next(&batch));
  EXPECT_EQ(batch.context_features, direct.context_features);
  EXPECT_EQ(batch.target_adjacency, direct.target_adjacency);
  EXPECT_FALSE(prefetcher.Next(&batch));
  EXPECT_EQ(transformed, 6);

  config.mutable_pre_tokenized()->set_path("x");
  EXPECT_EQ(LoadTrainingSamples(config, 1).status().code(), absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace jepalab::trainer
