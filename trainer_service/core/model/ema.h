// EMA target network support (reference §3.7): copy the online weights once, then after every
// optimizer step move each target parameter towards its online twin. Buffers are not synced.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_MODEL_EMA_H_
#define JEPALAB_TRAINER_SERVICE_CORE_MODEL_EMA_H_

#include <torch/nn/module.h>

namespace jepalab::trainer {

// `target` and `online` must have the same architecture. Copies the parameters and turns off
// their gradients (the target is frozen).
void InitTargetFromOnline(torch::nn::Module& target, const torch::nn::Module& online);

// theta_t <- m * theta_t + (1 - m) * theta_o, without autograd.
void UpdateEmaTarget(torch::nn::Module& target, const torch::nn::Module& online, double decay);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_MODEL_EMA_H_
