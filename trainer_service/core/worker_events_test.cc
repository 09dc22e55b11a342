#include "trainer_service/core/worker_events.h"

#include <unistd.h>

#include "gtest/gtest.h"

namespace jepalab::trainer {
namespace {

TEST(EventDecoderTest, DecodesEventsSplitAtEveryByte) {
  std::string stream;
  for (int i = 1; i <= 3; ++i) {
    RunEvent e;
    e.set_sequence(i);
    e.mutable_metrics()->set_step(100 * i);
    e.mutable_metrics()->add_values()->set_name(std::string(200, 'x'));  // > 127: 2-byte length
    AppendDelimited(e, &stream);
  }
  EventDecoder decoder;
  std::vector<int64_t> steps;
  RunEvent event;
  for (char c : stream) {
    decoder.Append(&c, 1);
    while (decoder.Next(&event) == EventDecoder::Result::kEvent)
      steps.push_back(event.metrics().step());
  }
  EXPECT_EQ(steps, (std::vector<int64_t>{100, 200, 300}));
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(EventDecoderTest, RejectsGarbage) {
  EventDecoder decoder;
  const std::string junk = "\xff\xff\xff\xff\xff\xff";
  decoder.Append(junk.data(), junk.size());
  RunEvent event;
  EXPECT_EQ(decoder.Next(&event), EventDecoder::Result::kCorrupt);
}

TEST(EventWriterTest, WritesNumberedEventsThroughAPipe) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  EventWriter writer(fds[1], "r1");
  ASSERT_TRUE(writer.State(common::v1::RUN_STATE_RUNNING, "device: cpu").ok());
  ASSERT_TRUE(writer.Metrics(3, 1, {{"lr", 0.5}}).ok());
  close(fds[1]);
  char buf[4096];
  EventDecoder decoder;
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) decoder.Append(buf, static_cast<size_t>(n));
  close(fds[0]);
  RunEvent a, b;
  ASSERT_EQ(decoder.Next(&a), EventDecoder::Result::kEvent);
  ASSERT_EQ(decoder.Next(&b), EventDecoder::Result::kEvent);
  EXPECT_EQ(a.run_id(), "r1");
  EXPECT_EQ(a.sequence(), 1);
  EXPECT_EQ(a.state_change().state(), common::v1::RUN_STATE_RUNNING);
  EXPECT_EQ(b.sequence(), 2);
  EXPECT_EQ(b.metrics().values(0).name(), "lr");
  EXPECT_DOUBLE_EQ(b.metrics().values(0).value(), 0.5);
  EXPECT_GT(b.unix_ms(), 0);
}

}  // namespace
}  // namespace jepalab::trainer
