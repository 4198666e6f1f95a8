"""The training page's "New run" form: the recipe, the network and the knobs beyond the lecture.

Plain widgets keyed in the session (not an `st.form`), so the parameters and MACs of the
network follow every change before Train is pressed, and the user's choices stay as they were
left after a run starts. Every field can come from the link (`/training?c1_kernel=3&...`): the
LeNet-5 page's "Train this architecture" opens the form filled in.
"""

from __future__ import annotations

import math
from dataclasses import fields
from urllib.parse import urlencode

import streamlit as st

from core.i18n import N_, _
from core.model.lenet import (
    ACTIVATIONS,
    ARCHITECTURE_RANGES,
    LECTURE_ARCHITECTURE,
    PAPER_1998_ARCHITECTURE,
    PAPER_1998_OMISSIONS,
    POOLINGS,
    LeNetArchitecture,
    lenet_layer_table,
)
from core.training.config import (
    ARCHITECTURE_FIELDS,
    AUGMENTATIONS,
    FAST_RECIPE,
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    MAX_LABEL_SMOOTHING,
    MAX_MOMENTUM,
    MAX_SHIFT,
    MAX_TIME_LIMIT_MINUTES,
    MAX_VALIDATION_SIZE,
    MAX_WARMUP,
    MAX_WEIGHT_DECAY,
    PLATEAU_STEPS,
    SCHEDULES,
    TrainConfig,
    setting_label,
)
from dashboard.text import plain

# The options' values stay English (session state, links, comparisons); each is shown through
# its format_func in the reader's language.
ALL_IMAGES = N_("all 58,976")
SUBSETS = {ALL_IMAGES: None, "40,000": 40_000, "20,000": 20_000, "5,000": 5_000, "1,000": 1_000}
CUSTOM = N_("custom")
LEARNING_RATES = ["0.1", "0.01", "1", CUSTOM]
DEVICES = ["auto", "cpu", "cuda", "mps"]
PRESETS = {
    N_("the lecture's LeNet-5"): LECTURE_ARCHITECTURE,
    N_("LeNet-5 as in 1998"): PAPER_1998_ARCHITECTURE,
}
# Marked only: show them with `_(ACTIVATION_LABELS[value])` (pages/architecture.py too).
ACTIVATION_LABELS = {
    "relu": N_("ReLU (lecture)"),
    "tanh": N_("tanh (1998)"),
    "sigmoid": N_("sigmoid"),
}
POOLING_LABELS = {"max": N_("max (lecture)"), "avg": N_("average (1998)")}
SCHEDULE_LABELS = {
    "constant": N_("constant (lecture)"),
    "onecycle": N_("one-cycle"),
    "cosine": N_("cosine decay"),
    "linear": N_("linear decay"),
}


def _subset_label(option: str) -> str:
    return _(option) if option == ALL_IMAGES else option


def _lr_label(option: str) -> str:
    return _(option) if option == CUSTOM else option


DEVICE_LABELS = {"auto": N_("auto"), "cpu": N_("cpu"), "cuda": N_("cuda"), "mps": N_("mps")}


def _device_label(option: str) -> str:
    return _(DEVICE_LABELS[option]) if option in DEVICE_LABELS else option


PREFIX = "tf_"  # session keys of the form's widgets
DEFAULTS = TrainConfig()
FORM_FIELDS = (
    "epochs",
    "seed",
    "device",
    "batch_size",
    "validation_size",
    "momentum",
    "weight_decay",
    "augment",
    "schedule",
    "warmup",
    "nesterov",
    "label_smoothing",
    *ARCHITECTURE_FIELDS,
)


def _key(name: str) -> str:
    return PREFIX + name


# The form's number fields and what a run may have. No min/max on the widget: the browser would
# keep a typed out-of-range number in the field without taking it, and Train would start the
# old one without a word; each is checked on Train instead, and named (_config_from_state).
# The labels are marked only (`_()` them where shown).
BOUNDS: dict[str, tuple[str, float, float]] = {
    "epochs": (N_("Epochs"), 1, MAX_EPOCHS),
    "seed": (N_("Seed"), 0, 2**31 - 1),
    "batch_size": (N_("Batch size"), 1, MAX_BATCH_SIZE),
    "validation_size": (N_("Validation images"), 1, MAX_VALIDATION_SIZE),
    "momentum": (N_("Momentum"), 0.0, MAX_MOMENTUM),
    "weight_decay": (N_("Weight decay"), 0.0, MAX_WEIGHT_DECAY),
    "warmup": (N_("Warm-up (share of the steps)"), 0.0, MAX_WARMUP),
    "label_smoothing": (N_("Label smoothing"), 0.0, MAX_LABEL_SMOOTHING),
    "time_limit": (N_("Time limit (minutes)"), 0.0, float(MAX_TIME_LIMIT_MINUTES)),
    **{
        name: (label, low, high)
        for name, label, (low, high) in (
            ("c1_kernel", N_("C1 kernel"), ARCHITECTURE_RANGES["c1_kernel"]),
            ("c1_channels", N_("C1 channels"), ARCHITECTURE_RANGES["c1_channels"]),
            ("c1_padding", N_("C1 padding"), ARCHITECTURE_RANGES["c1_padding"]),
            ("c3_kernel", N_("C3 kernel"), ARCHITECTURE_RANGES["c3_kernel"]),
            ("c3_channels", N_("C3 channels"), ARCHITECTURE_RANGES["c3_channels"]),
            ("c3_padding", N_("C3 padding"), ARCHITECTURE_RANGES["c3_padding"]),
            ("pool", N_("Pooling window (= stride)"), ARCHITECTURE_RANGES["pool"]),
        )
    },
}


def _number(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _bounded(column, name: str, help: str | None = None, **extra) -> None:
    """A number field (its label from BOUNDS) with its range in the help, checked on Train."""
    label, low, high = BOUNDS[name]
    span = _("{low} to {high}").format(low=_number(low), high=_number(high))
    extra.setdefault("step", 1)
    column.number_input(_(label), key=_key(name), help=f"{span}. {help}" if help else span, **extra)


def _out_of_bounds(state) -> dict[str, str]:
    """Each number field outside what a run may have, by its label."""
    problems = {}
    for name, (label, low, high) in BOUNDS.items():
        value = state[_key(name)]
        if not low <= value <= high:
            problems[_(label)] = _("{value} is not from {low} to {high}").format(
                value=_number(value), low=_number(low), high=_number(high)
            )
    return problems


def _initial_values() -> dict:
    values = {name: getattr(DEFAULTS, name) for name in FORM_FIELDS}
    values.update(lr_choice="0.1", custom_lr="0.05", subset=ALL_IMAGES, time_limit=0.0)
    return values


def config_query(config: TrainConfig) -> dict[str, str]:
    """The link's query for a config: every field that differs from the lecture's recipe."""
    return {
        field.name: str(getattr(config, field.name))
        for field in fields(TrainConfig)
        if getattr(config, field.name) != getattr(DEFAULTS, field.name)
        and field.name not in ("data_dir", "group", "log_every")
    }


def config_link(config: TrainConfig) -> str:
    """`/training?...`: the training page with the form filled in for `config`."""
    query = config_query(config)
    return "/training" + (f"?{urlencode(query)}" if query else "")


def _parse(name: str, text: str):
    """A link's value for a form field, or ValueError."""
    kind = type(getattr(DEFAULTS, name))
    if kind is bool:
        if text.lower() in ("true", "1", "yes", "on"):
            return True
        if text.lower() in ("false", "0", "no", "off"):
            return False
        raise ValueError(_("not true or false"))
    try:
        if name == "train_subset":
            return None if text in ("", "all", "None") else int(text)
        if kind is int:
            return int(text)
        if kind is float:
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
            return value
    except ValueError:
        whole = kind is int or name == "train_subset"
        raise ValueError(_("not a whole number") if whole else _("not a finite number")) from None
    return text


def apply_link(params) -> list[str]:
    """Fill the form from the link, once per distinct link; returns what was ignored and why."""
    wanted = {name: params.get(name) for name in (*FORM_FIELDS, "lr", "train_subset")}
    wanted = {name: value for name, value in wanted.items() if value is not None}
    signature = tuple(sorted(wanted.items()))
    if not wanted or st.session_state.get("tf_link_applied") == signature:
        return []
    st.session_state.tf_link_applied = signature
    problems, values = [], {}
    for name, text in wanted.items():
        try:
            value = _parse(name, text)
            if name in ARCHITECTURE_RANGES:
                low, high = ARCHITECTURE_RANGES[name]
                if not low <= value <= high:
                    raise ValueError(_("must be from {low} to {high}").format(low=low, high=high))
            elif name in ("activation", "pooling"):
                choices = ACTIVATIONS if name == "activation" else POOLINGS
                if value not in choices:
                    raise ValueError(
                        _("must be one of {choices}").format(choices=", ".join(choices))
                    )
            elif name == "nesterov":  # with the momentum it needs; the whole config on Train
                TrainConfig(nesterov=value, momentum=0.9)
            else:  # the network as a whole is checked below
                TrainConfig(**{name: value})
        except (ValueError, TypeError) as error:
            reason = str(error) if isinstance(error, ValueError) and str(error) else _("not valid")
            problems.append(f"{plain(name)} = {plain(text[:30])} ({plain(reason)})")
            continue
        values[name] = value
    try:  # the architecture as a whole: a link can name an impossible network
        LeNetArchitecture(
            **{n: values.get(n, getattr(DEFAULTS, n)) for n in ARCHITECTURE_FIELDS}
        ).check()
    except ValueError as error:
        problems.append(
            _("the network it describes is impossible: {error}").format(error=plain(error))
        )
        values = {n: v for n, v in values.items() if n not in ARCHITECTURE_FIELDS}
    for name, value in values.items():
        if name == "lr":
            st.session_state[_key("lr_choice")] = "custom"
            st.session_state[_key("custom_lr")] = f"{value:g}"
        elif name == "train_subset":
            label = next((k for k, v in SUBSETS.items() if v == value), None)
            if label is None:
                SUBSETS[f"{value:,}"] = value
                label = f"{value:,}"
            st.session_state[_key("subset")] = label
        else:
            st.session_state[_key(name)] = value
    return problems


def use_fast_recipe() -> None:
    """Fill the form with the fast recipe (core.training.config.FAST_RECIPE) on the lecture's
    network and data; the student then presses Train."""
    state = st.session_state
    for name, value in FAST_RECIPE.items():
        if name == "lr":
            state[_key("lr_choice")] = "custom"
            state[_key("custom_lr")] = f"{value:g}"
        else:
            state[_key(name)] = value
    for name in ARCHITECTURE_FIELDS:
        state[_key(name)] = getattr(LECTURE_ARCHITECTURE, name)
    state[_key("preset")] = next(iter(PRESETS))
    state[_key("subset")] = ALL_IMAGES
    state[_key("validation_size")] = DEFAULTS.validation_size
    state["tf_fast_note"] = True


def _use_preset() -> None:
    preset = PRESETS[st.session_state[_key("preset")]]
    for name in ARCHITECTURE_FIELDS:
        st.session_state[_key(name)] = getattr(preset, name)


def _architecture() -> LeNetArchitecture:
    return LeNetArchitecture(**{n: st.session_state[_key(n)] for n in ARCHITECTURE_FIELDS})


def network_summary(architecture: LeNetArchitecture) -> tuple[str, bool]:
    """'61,706 parameters, 416,520 MACs per image' or the layer that breaks."""
    try:
        table = lenet_layer_table(architecture.check())
    except ValueError as error:
        return _("This network is impossible: {error}").format(error=plain(error)), False
    parameters = sum(row.parameters for row in table)
    macs = sum(row.macs for row in table)
    lecture = lenet_layer_table(LECTURE_ARCHITECTURE)
    ratio = parameters / sum(row.parameters for row in lecture)
    return (
        _(
            "**{parameters:,} parameters**, **{macs:,} MACs** per image"
            " ({ratio:.2f}× the lecture's 61,706 parameters)"
        ).format(parameters=parameters, macs=macs, ratio=ratio),
        True,
    )


def new_run_form(nonce: str) -> TrainConfig | None:
    """Draw the form; return the checked config when Train is pressed, else None (problems
    are shown in the form, and nothing starts)."""
    state = st.session_state
    for name, value in _initial_values().items():
        state.setdefault(_key(name), value)
    state.setdefault(_key("preset"), next(iter(PRESETS)))

    with st.container(border=True):
        st.subheader(_("New run"))
        a, b, c = st.columns(3)
        a.selectbox(
            _("Learning rate"),
            LEARNING_RATES,
            format_func=_lr_label,
            key=_key("lr_choice"),
            help=_("The lecture compares 1, 0.1 and 0.01 and picks 0.1."),
        )
        a.text_input(
            _("Custom learning rate"),
            key=_key("custom_lr"),
            help=_("Used when 'custom' is chosen; any positive number (above ~10 it diverges)."),
        )
        _bounded(b, "epochs", help=_("The lecture trains 20."))
        b.selectbox(
            _("Training images"),
            list(SUBSETS),
            format_func=_subset_label,
            key=_key("subset"),
            help=_(
                "A smaller subset trains faster; below ~6,400 images an epoch has fewer than"
                " {steps} steps and stays on the loss plateau (chance)."
            ).format(steps=PLATEAU_STEPS),
        )
        _bounded(c, "seed")
        c.selectbox(
            _("Device"),
            DEVICES,
            format_func=_device_label,
            key=_key("device"),
            help=_("auto = CUDA, then Apple MPS, then CPU"),
        )

        architecture = _architecture()
        summary, possible = network_summary(architecture)
        is_lecture = architecture == LECTURE_ARCHITECTURE
        with st.expander(
            _("Network: the lecture's LeNet-5")
            if is_lecture
            else _("Network: a variant of LeNet-5"),
            expanded=not is_lecture,
        ):
            st.selectbox(
                _("Start from"),
                list(PRESETS),
                format_func=_,
                key=_key("preset"),
                on_change=_use_preset,
                help=_(
                    "The 1998 preset: tanh and average pooling. It still leaves out {omissions}."
                ).format(omissions="; ".join(_(omission) for omission in PAPER_1998_OMISSIONS)),
            )
            c1, c3, rest = st.columns(3)
            c1.markdown("**C1**")
            _bounded(c1, "c1_kernel")
            _bounded(c1, "c1_channels")
            _bounded(c1, "c1_padding")
            c3.markdown("**C3**")
            _bounded(c3, "c3_kernel")
            _bounded(c3, "c3_channels")
            _bounded(c3, "c3_padding")
            rest.markdown(_("**S2, S4 and activations**"))
            _bounded(rest, "pool")
            rest.selectbox(
                _("Pooling"),
                list(POOLINGS),
                format_func=lambda value: _(POOLING_LABELS[value]),
                key=_key("pooling"),
            )
            rest.selectbox(
                _("Activation"),
                list(ACTIVATIONS),
                format_func=lambda value: _(ACTIVATION_LABELS[value]),
                key=_key("activation"),
            )
        (st.caption if possible else st.error)(summary)

        with st.expander(
            _("Batch, validation, momentum, schedule, weight decay, augmentation, time limit"),
            expanded=bool(state.pop("tf_fast_note", False)),
        ):
            d, e, f = st.columns(3)
            _bounded(d, "batch_size", help=_("The lecture's: 64."))
            _bounded(
                d,
                "validation_size",
                help=_("The lecture's: 1,024, held out of the training set."),
            )
            _bounded(
                e,
                "momentum",
                step=0.1,
                format="%.2f",
                help=_("0 is the lecture's plain SGD; 0.9 is the usual choice."),
            )
            _bounded(
                e,
                "weight_decay",
                step=1e-4,
                format="%.4f",
                help=_("An L2 penalty on the weights; 0 in the lecture."),
            )
            f.selectbox(
                _("Augmentation"),
                AUGMENTATIONS,
                format_func={
                    "none": _("none (lecture)"),
                    "shift": _("shift by up to {pixels} px").format(pixels=MAX_SHIFT),
                }.get,
                key=_key("augment"),
                help=_(
                    "LeCun et al. report 0.8% test error with distortions against 0.95% without."
                ),
            )
            _bounded(
                f,
                "time_limit",
                step=5.0,
                format="%g",
                help=_(
                    "0: none. Past it the run stops at the next batch, checkpointed, as Stop"
                    " does ('stopped: time limit'); Resume continues it, with the limit again."
                ),
            )
            g, h, i = st.columns(3)
            g.selectbox(
                _("Learning-rate schedule"),
                SCHEDULES,
                format_func=lambda value: _(SCHEDULE_LABELS[value]),
                key=_key("schedule"),
                help=_("How the rate changes over the run; the lecture keeps it constant."),
            )
            _bounded(
                g,
                "warmup",
                step=0.05,
                format="%.2f",
                help=_(
                    "The rate rises linearly from 0 over this share of the run's steps"
                    " (one-cycle: 30% when 0)."
                ),
            )
            h.checkbox(
                _("Nesterov momentum"),
                key=_key("nesterov"),
                help=_("Looks one step ahead along the momentum; needs a momentum above 0."),
            )
            _bounded(
                i,
                "label_smoothing",
                step=0.05,
                format="%.2f",
                help=_(
                    "Trains towards 1 - ε on the right digit and ε/9 on the others; 0 in the"
                    " lecture."
                ),
            )
        st.button(
            _("Fill in the fast recipe"),
            on_click=use_fast_recipe,
            icon=":material/bolt:",
            key=f"fast_{nonce}",
            help=_(
                "The lecture's network and data, fewer steps: {recipe}. Then press Train."
            ).format(
                recipe=", ".join(
                    f"{setting_label(name)} {_('True') if value is True else value}"
                    for name, value in FAST_RECIPE.items()
                )
            ),
        )
        clicked = st.button(
            _("Train"), type="primary", icon=":material/play_arrow:", key=f"train_{nonce}"
        )
        if not clicked:
            return None
        config, problems = _config_from_state()
        if problems:
            for field, problem in problems.items():
                st.error(
                    _("**{field}**: {problem}. Nothing was started.").format(
                        field=field, problem=problem
                    )
                )
            return None
        return config


def _config_from_state() -> tuple[TrainConfig | None, dict[str, str]]:
    state = st.session_state
    problems: dict[str, str] = {}
    choice = state[_key("lr_choice")]
    lr_text = state[_key("custom_lr")] if choice == CUSTOM else choice
    try:
        lr = float(lr_text)
        if not math.isfinite(lr) or lr <= 0:
            raise ValueError
    except ValueError:
        problems[_("Learning rate")] = _("{text} is not a positive, finite number").format(
            text=plain(str(lr_text)[:40])
        )
        lr = DEFAULTS.lr
    problems.update(_out_of_bounds(state))
    if problems:
        return None, problems
    fields = {name: state[_key(name)] for name in FORM_FIELDS}
    for name in ("momentum", "weight_decay", "warmup", "label_smoothing"):
        fields[name] = float(fields[name])
    fields["nesterov"] = bool(fields["nesterov"])
    fields["time_limit_minutes"] = float(state[_key("time_limit")]) or None
    config = None
    if not problems:
        try:
            config = TrainConfig(lr=lr, train_subset=SUBSETS.get(state[_key("subset")]), **fields)
            if config.device != "auto":
                from core.training.config import resolve_device

                resolve_device(config.device)
        except ValueError as error:
            problems[_("Settings")] = plain(error)
    return (None if problems else config), problems
