#!/usr/bin/env python3
"""SD-Turbo pipeline goldens, computed by diffusers 0.25.1's own pipeline code.

Runs diffusers' StableDiffusionPipeline and StableDiffusionImg2ImgPipeline (their __call__, scheduler and VAE code,
unchanged) on the tiny SD-Turbo-shaped model in tiny-sd-turbo/ (tiny-sd2's weights with stabilityai/sd-turbo's
scheduler config: EulerDiscreteScheduler, "trailing" spacing, epsilon prediction) at guidance 0, as SD-Turbo is run:
no classifier-free guidance, so one batch-1 UNet call per step. Writes golden/turbo_*.safetensors and .png.

transformers is not needed: diffusers' pipeline modules import a few names from it (CLIPTextModel, CLIPTokenizer,
CLIPImageProcessor, ...) only to annotate types and to build the components this script does not use. A stand-in
`transformers` package, written to a temporary folder and put first on sys.path, provides those names as empty
classes; the pipelines get `text_encoder=None, tokenizer=None, safety_checker=None, feature_extractor=None` and the
prompt embeddings as `prompt_embeds=`: row 1 of golden/text_encoder.safetensors `last_hidden_state` (prompt 1 of
prompts.json through tiny-sd2's text encoder, see golden/README.md (b)).

The random numbers diffusers draws (torch.Generator().manual_seed(42) on the CPU) are recorded as they are drawn, by
wrapping diffusers' randn_tensor in the modules that call it, and stored in the order drawn (`noise{k}`), so an
engine can check its generator against them or feed them in.

Regenerate from the repository root (CPU, float32, deterministic; no network):

    pip install torch==1.13.1 diffusers==0.25.1 safetensors numpy pillow
    python3 conformance/make_turbo_goldens.py
"""
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "tiny-sd-turbo")
GOLDEN = os.path.join(HERE, "golden")
SEED = 42
WIDTH, HEIGHT = 192, 128


def stand_in_transformers():
    """A `transformers` that only has names: every attribute asked for is an empty class."""
    root = tempfile.mkdtemp(prefix="transformers-stand-in-")
    pkg = os.path.join(root, "transformers")
    os.makedirs(pkg)
    with open(os.path.join(pkg, "__init__.py"), "w") as f:
        f.write("def __getattr__(name):\n"
                "    if name.startswith('__'):\n"
                "        raise AttributeError(name)\n"
                "    cls = type(name, (), {})\n"
                "    globals()[name] = cls\n"
                "    return cls\n")
    with open(os.path.join(pkg, "utils.py"), "w") as f:
        f.write('WEIGHTS_NAME = "pytorch_model.bin"\nSAFE_WEIGHTS_NAME = "model.safetensors"\n'
                'FLAX_WEIGHTS_NAME = "flax_model.msgpack"\n')
    # diffusers decides whether transformers is installed from its distribution metadata
    meta = os.path.join(root, "transformers-4.36.2.dist-info")
    os.makedirs(meta)
    with open(os.path.join(meta, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\nName: transformers\nVersion: 4.36.2\n")
    sys.path.insert(0, root)


stand_in_transformers()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

import diffusers  # noqa: E402
from diffusers import (AutoencoderKL, EulerAncestralDiscreteScheduler, EulerDiscreteScheduler,  # noqa: E402
                       StableDiffusionImg2ImgPipeline, StableDiffusionPipeline, UNet2DConditionModel)
import diffusers.models.autoencoders.vae as vae_module  # noqa: E402
import diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion as txt2img_module  # noqa: E402
import diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_img2img as img2img_module  # noqa: E402
import diffusers.schedulers.scheduling_euler_ancestral_discrete as euler_a_module  # noqa: E402
import diffusers.schedulers.scheduling_euler_discrete as euler_module  # noqa: E402

assert diffusers.__version__ == "0.25.1", diffusers.__version__
torch.set_grad_enabled(False)


# ---- recording -------------------------------------------------------------------------------------------------------

class Recorder:
    """What one pipeline call drew and computed: noise in draw order, each UNet call's input and output."""

    def __init__(self):
        self.noise, self.unet_in, self.unet_t, self.unet_out, self.latents = [], [], [], [], []


REC = None


def recording(original):
    def randn_tensor(*args, **kwargs):
        x = original(*args, **kwargs)
        if REC is not None:
            REC.noise.append(x.clone())
        return x
    return randn_tensor


for module in (vae_module, txt2img_module, img2img_module, euler_a_module, euler_module):
    module.randn_tensor = recording(module.randn_tensor)


def unet_pre(_module, args):
    REC.unet_in.append(args[0].clone())
    t = args[1]
    REC.unet_t.append(float(t) if not torch.is_tensor(t) else float(t.reshape(-1)[0]))


def unet_post(_module, _args, output):
    REC.unet_out.append(output[0].clone() if isinstance(output, tuple) else output.sample.clone())


def on_step_end(_pipe, _i, _t, kwargs):
    REC.latents.append(kwargs["latents"].clone())
    return {}


# ---- writing -------------------------------------------------------------------------------------------------------

def save(path, tensors, metadata):
    """safetensors, written by hand (the format is a JSON header and raw little-endian bytes)."""
    kinds = {np.float32: "F32", np.uint8: "U8", np.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        a = np.ascontiguousarray(value.detach().numpy() if isinstance(value, torch.Tensor) else value)
        data = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": kinds[a.dtype.type], "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# ---- the cases -----------------------------------------------------------------------------------------------------

def components():
    unet = UNet2DConditionModel.from_pretrained(os.path.join(MODEL, "unet")).eval()
    vae = AutoencoderKL.from_pretrained(os.path.join(MODEL, "vae")).eval()
    return unet, vae


def prompt_embeds():
    te = load_file(os.path.join(GOLDEN, "text_encoder.safetensors"))
    return te["last_hidden_state"][1:2].clone()   # prompt 1: "A Portrait of a Cat, ..."


def init_image():
    """A smooth RGB test card, 192 x 128, so that img2img starts from something with structure."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    r = 127.5 + 127.5 * np.sin(x / 17.0) * np.cos(y / 23.0)
    g = 255.0 * x / (WIDTH - 1)
    b = 255.0 * ((x - WIDTH / 2) ** 2 + (y - HEIGHT / 2) ** 2 < 40 ** 2)
    return np.rint(np.stack([r, g, b], axis=-1)).clip(0, 255).astype(np.uint8)


def run(name, pipeline_cls, scheduler, steps, info, **extra):
    global REC
    unet, vae = components()
    pipe = pipeline_cls(vae=vae, text_encoder=None, tokenizer=None, unet=unet, scheduler=scheduler, safety_checker=None,
                        feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    pre = unet.register_forward_pre_hook(unet_pre)
    post = unet.register_forward_hook(unet_post)
    embeds = prompt_embeds()
    outputs = {}
    for output_type in ("latent", "pil"):
        REC = Recorder()
        size = {} if "image" in extra else {"height": HEIGHT, "width": WIDTH}   # img2img takes the image's size
        out = pipe(prompt_embeds=embeds, num_inference_steps=steps, guidance_scale=0.0, **size,
                   generator=torch.Generator().manual_seed(SEED), output_type=output_type,
                   callback_on_step_end=on_step_end, callback_on_step_end_tensor_inputs=["latents"], **extra)
        outputs[output_type] = (out.images, REC)
    pre.remove()
    post.remove()
    REC = None
    latents, rec = outputs["latent"]
    pil, rec_pil = outputs["pil"]
    assert len(rec.noise) == len(rec_pil.noise) and all(torch.equal(a, b) for a, b in zip(rec.noise, rec_pil.noise))
    # the image, as the pipeline's "pil" output computes it from these latents
    image_raw = vae.decode(latents / vae.config.scaling_factor, return_dict=False)[0]
    image = (image_raw / 2 + 0.5).clamp(0, 1)
    pixels = np.asarray(pil[0], dtype=np.uint8)
    assert np.array_equal(pixels, (image[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)), name

    tensors = {
        "prompt_embeds": embeds,
        "timesteps": pipe.scheduler.timesteps.to(torch.float32),
        "sigmas": pipe.scheduler.sigmas.to(torch.float32),
        "init_noise_sigma": torch.tensor([float(pipe.scheduler.init_noise_sigma)]),
        "unet_timesteps": torch.tensor(rec.unet_t, dtype=torch.float32),
        "unet_batch": torch.tensor([x.shape[0] for x in rec.unet_in], dtype=torch.int64),
    }
    for k, z in enumerate(rec.noise):
        tensors[f"noise{k}"] = z
    for i, (x, e, z) in enumerate(zip(rec.unet_in, rec.unet_out, rec.latents)):
        tensors[f"step{i}.unet_input"] = x
        tensors[f"step{i}.noise_pred"] = e
        tensors[f"step{i}.latents"] = z
    tensors.update({"final_latents": latents, "image_raw": image_raw, "image_uint8_hwc": pixels})
    if "image" in extra:
        tensors["init_image_uint8_hwc"] = np.asarray(extra["image"], dtype=np.uint8)
    info = dict(info, pipeline=pipeline_cls.__name__, scheduler=type(scheduler).__name__, steps=steps, guidance_scale=0.0,
                seed=SEED, width=WIDTH, height=HEIGHT, prompt_embeds="text_encoder.safetensors last_hidden_state[1]",
                diffusers=diffusers.__version__, torch=torch.__version__)
    save(os.path.join(GOLDEN, name + ".safetensors"), tensors, {"info": json.dumps(info, sort_keys=True)})
    pil[0].save(os.path.join(GOLDEN, name + ".png"))
    print(f"{name}: timesteps {tensors['timesteps'].tolist()}, {len(rec.unet_in)} UNet call(s) of batch "
          f"{sorted(set(tensors['unet_batch'].tolist()))}, {len(rec.noise)} noise draw(s), "
          f"max |final latents| {float(latents.abs().max()):.4g}")


def main():
    config = os.path.join(MODEL, "scheduler")
    euler = lambda: EulerDiscreteScheduler.from_pretrained(config)   # noqa: E731
    run("turbo_euler_1step", StableDiffusionPipeline, euler(), 1, {"case": "txt2img, sd-turbo's scheduler config"})
    run("turbo_euler_4step", StableDiffusionPipeline, euler(), 4, {"case": "txt2img, sd-turbo's scheduler config"})
    run("turbo_euler_a_4step", StableDiffusionPipeline, EulerAncestralDiscreteScheduler.from_config(euler().config), 4,
        {"case": "txt2img, EulerAncestralDiscreteScheduler.from_config(sd-turbo's config): trailing, epsilon"})
    init = Image.fromarray(init_image())
    init.save(os.path.join(GOLDEN, "turbo_img2img_init.png"))
    run("turbo_img2img_2step", StableDiffusionImg2ImgPipeline, euler(), 2,
        {"case": "img2img from turbo_img2img_init.png, strength 0.5 (the model card's example)", "strength": 0.5},
        image=init, strength=0.5)


if __name__ == "__main__":
    main()
