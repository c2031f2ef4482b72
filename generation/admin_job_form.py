"""The admin's form for a new generation job: one request, a batch per combination of the template's values."""

from django import forms

from assets.admin import VisibleChoices
from assets.models import Brief, ModelWeights, PromptTemplate, Reference, Version
from generation.models import GenerationJob
from generation.requests import DEFAULT_IP_ADAPTER_SCALE, GenerationRequest, ImagePrompt, LoraSpec
from generation.samplers import SAMPLERS
from generation.services.jobs import GENERATION_OPS, generation_job_create


def _parse_grid(text: str) -> dict[str, list[str]]:
    """One line per placeholder: `camera action = slow pan | crane up`."""
    grid = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if "=" not in line:
            raise forms.ValidationError(f"line {number}: write `placeholder = value | value`")
        name, values = line.split("=", 1)
        grid[name.strip()] = [value.strip() for value in values.split("|") if value.strip()]
    return grid


class JobForm(VisibleChoices, forms.Form):
    brief = forms.ModelChoiceField(queryset=Brief.objects.all())
    op = forms.ChoiceField(choices=[(op, op) for op in GENERATION_OPS], initial="txt2img", label="Operation")
    template = forms.ModelChoiceField(queryset=PromptTemplate.objects.select_related("brief"), required=False)
    values = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="One line per placeholder: <code>camera action = slow pan | crane up</code>; "
        "one batch per combination",
    )
    prompt = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, help_text="Instead of a template"
    )
    base_model = forms.ModelChoiceField(queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.BASE))
    vae = forms.ModelChoiceField(
        queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.VAE),
        required=False,
        help_text="Empty: the base model's own VAE",
    )
    lora_1 = forms.ModelChoiceField(queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.LORA), required=False)
    lora_1_weight = forms.FloatField(initial=0.8, required=False)
    lora_2 = forms.ModelChoiceField(queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.LORA), required=False)
    lora_2_weight = forms.FloatField(initial=0.8, required=False)
    # Empty: the base model's architecture says (SD: DPM++ 2M Karras, 25 steps, CFG 7; FLUX: flow Euler, 28, 1).
    sampler = forms.ChoiceField(choices=[("", "the model's default"), *((s, s) for s in SAMPLERS)], required=False)
    steps = forms.IntegerField(required=False, min_value=1, max_value=500, help_text="Empty: the model's default")
    cfg = forms.FloatField(required=False, label="CFG", help_text="Empty: the model's default (FLUX: 1, true CFG off)")
    distilled_cfg = forms.FloatField(
        required=False, label="Distilled CFG", help_text="FLUX: the guidance distilled into the model (default 3.5)"
    )
    seed = forms.IntegerField(required=False, min_value=0, help_text="Empty: a random seed")
    batch_size = forms.IntegerField(initial=6, min_value=1, max_value=64)
    width = forms.IntegerField(required=False, help_text="Empty: from the brief's aspect (or the init image)")
    height = forms.IntegerField(required=False)
    strength = forms.FloatField(required=False, help_text="img2img / inpaint")
    init_version = forms.ModelChoiceField(queryset=Version.objects.all(), required=False)
    init_reference = forms.ModelChoiceField(queryset=Reference.objects.all(), required=False)
    mask = forms.FileField(required=False, help_text="Inpaint mask, white where the image should change")
    controlnet = forms.ModelChoiceField(
        queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.CONTROLNET), required=False
    )
    control_reference = forms.ModelChoiceField(queryset=Reference.objects.all(), required=False)
    ip_adapter = forms.ModelChoiceField(
        queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.IP_ADAPTER),
        required=False,
        label="IP-Adapter",
        help_text="Image prompts: a colour lock and/or style references",
    )
    image_encoder = forms.ModelChoiceField(
        queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.IMAGE_ENCODER),
        required=False,
        help_text="The IP-Adapter's CLIP image encoder",
    )
    colour_lock = forms.BooleanField(required=False, help_text="The brief's palette, as swatches, guides the colours")
    style_references = forms.ModelMultipleChoiceField(
        queryset=Reference.objects.all(), required=False, help_text="Mood-board images that condition the image"
    )
    ip_adapter_scale = forms.FloatField(
        required=False, min_value=0.0, max_value=2.0, initial=DEFAULT_IP_ADAPTER_SCALE, label="IP-Adapter scale"
    )

    def clean_values(self):
        return _parse_grid(self.cleaned_data.get("values") or "")

    def clean(self):
        data = super().clean()
        if (data.get("ip_adapter") is None) != (data.get("image_encoder") is None):
            raise forms.ValidationError("An IP-Adapter and its image encoder go together.")
        if (data.get("colour_lock") or data.get("style_references")) and data.get("ip_adapter") is None:
            raise forms.ValidationError("A colour lock and style references need an IP-Adapter and its image encoder.")
        return data

    def image_prompt(self) -> ImagePrompt | None:
        data = self.cleaned_data
        if data.get("ip_adapter") is None:
            return None
        return ImagePrompt(
            adapter=data["ip_adapter"],
            encoder=data["image_encoder"],
            colour_lock=data.get("colour_lock", False),
            references=tuple(data.get("style_references") or ()),
            scale=data.get("ip_adapter_scale")
            if data.get("ip_adapter_scale") is not None
            else DEFAULT_IP_ADAPTER_SCALE,
        )

    def job_create(self, user) -> GenerationJob:
        data = self.cleaned_data
        params = {
            key: data[key]
            for key in ("sampler", "steps", "cfg", "distilled_cfg", "seed", "batch_size", "width", "height", "strength")
            if data.get(key) not in (None, "")
        }
        loras = tuple(
            LoraSpec(weights=data[f"lora_{i}"], weight=data[f"lora_{i}_weight"] or 0.8)
            for i in (1, 2)
            if data.get(f"lora_{i}")
        )
        request = GenerationRequest(
            brief=data["brief"],
            op=data["op"],
            base_model=data["base_model"],
            params=params,
            template=data.get("template"),
            values_grid=data["values"],
            prompt_text=data.get("prompt") or "",
            loras=loras,
            init=data.get("init_version") or data.get("init_reference"),
            mask_source=data.get("mask"),
            control=data.get("control_reference"),
            controlnet=data.get("controlnet"),
            vae=data.get("vae"),
            image_prompt=self.image_prompt(),
        )
        return generation_job_create(request=request, created_by=user)
