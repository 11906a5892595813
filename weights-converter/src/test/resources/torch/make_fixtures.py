# Makes the PyTorch-written fixtures that TorchZipTest reads (run with any PyTorch >= 1.6; these were made by 1.13):
#   python3 make_fixtures.py
# Values follow simple formulas that the test recomputes, so no expected-value file is needed.
import collections
import torch


def state():
    lin = torch.nn.Linear(3, 2)                          # a real module state dict: OrderedDict with _metadata
    with torch.no_grad():
        lin.weight.copy_(torch.arange(6, dtype=torch.float32).reshape(2, 3) / 8)
        lin.bias.copy_(torch.tensor([-1.0, 2.0]))
    sd = lin.state_dict()
    base = (torch.arange(12, dtype=torch.float32) * 0.5 - 1).reshape(3, 4)
    sd["f32"] = base
    half = base.half()
    sd["f16"] = half
    sd["f16_t"] = half.t()                               # non-contiguous view sharing f16's storage
    sd["offset_view"] = base[1:, 1:3]                    # storage offset 5, strides (4, 1), not contiguous
    sd["strided"] = torch.arange(20, dtype=torch.float32)[3::4]   # offset 3, stride 4
    sd["bf16"] = (torch.arange(6, dtype=torch.float32) - 2.5).bfloat16().reshape(3, 2)
    sd["f64"] = torch.arange(4, dtype=torch.float64) / 3
    sd["i64"] = torch.arange(5) * 1000000007
    sd["i32"] = torch.arange(4, dtype=torch.int32) - 2
    sd["u8"] = torch.arange(4, dtype=torch.uint8) * 60
    sd["bool"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 4)
    sd["param"] = torch.nn.Parameter(torch.ones(2, 2) * 0.25)
    return sd


torch.save({"state_dict": state(), "global_step": 7, "epoch": 1, "name": "fixture"}, "lightning_p2.ckpt")
torch.save(state(), "state_dict_p4.pt", pickle_protocol=4)
