#include "trainer_service/core/model/reduced_jepa.h"

#include <torch/torch.h>

namespace jepalab::trainer {

GridTensors ToTensors(const PaddedGrids& grids, const torch::Device& device) {
  const int64_t cells = grids.height * grids.width;
  // from_blob does not own the vectors' memory: clone (or copy to the device) before returning.
  auto colors = torch::from_blob(const_cast<int64_t*>(grids.colors.data()), {grids.count, cells},
                                 torch::kInt64);
  auto coords = torch::from_blob(const_cast<float*>(grids.coords.data()), {grids.count, cells, 2},
                                 torch::kFloat32);
  auto mask = torch::from_blob(const_cast<float*>(grids.mask.data()), {grids.count, cells},
                               torch::kFloat32);
  if (device.is_cpu()) return {colors.clone(), coords.clone(), mask.clone()};
  return {colors.to(device), coords.to(device), mask.to(device)};
}

ReducedJepaImpl::ReducedJepaImpl(const ReducedJepaOptions& options) {
  encoder = register_module("encoder", GridEncoder(options.encoder));
  projection = register_module("projection", ProjectionHead(options.projection));
}

torch::Tensor ReducedJepaImpl::ContextProjection(const GridTensors& context, int64_t window) {
  torch::Tensor per_grid = encoder(context.colors, context.coords, context.mask);  // [B*T, H]
  torch::Tensor pooled = per_grid.view({-1, window, per_grid.size(1)}).mean(1);    // [B, H]
  return projection(pooled);
}

torch::Tensor ReducedJepaImpl::TargetProjection(const GridTensors& target) {
  return projection(encoder(target.colors, target.coords, target.mask));
}

}  // namespace jepalab::trainer
