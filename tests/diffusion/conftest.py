"""Keep torch to one thread: the tests use small tensors and the machine is shared."""

import torch

torch.set_num_threads(1)
