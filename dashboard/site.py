"""The app's page registry: one place that says which pages exist, for the router and the page map.

A page is listed here only when it works (no empty placeholders). Paths are relative to the
repository root, where `pages/` lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.i18n import N_

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PageInfo:
    path: str  # relative to the repository root
    title: str  # marked for the catalogue: shown as _(title)
    icon: str
    summary: str  # one line for the page map on the welcome page
    url_path: str

    @property
    def file(self) -> Path:
        return REPO_ROOT / self.path


WELCOME = PageInfo(
    path="pages/welcome.py",
    title=N_("Welcome"),
    icon=":material/home:",
    summary=N_(
        "What a CNN is and why: local connectivity and weight sharing, in numbers you pick."
    ),
    url_path="welcome",
)

CONVOLUTION = PageInfo(
    path="pages/convolution.py",
    title=N_("Convolution explorer"),
    icon=":material/grid_on:",
    summary=N_(
        "1D and 2D convolution and pooling: kernel, padding, stride, dilation, channels;"
        " the sliding window animated with every number written out; the lecture's eight cases."
    ),
    url_path="convolution",
)

DRILL = PageInfo(
    path="pages/drill.py",
    title=N_("Convolution drill"),
    icon=":material/quiz:",
    summary=N_(
        "Predict, then reveal: type a layer's output shape, parameters, MACs and receptive"
        " field; a wrong answer is told which mistake it looks like."
    ),
    url_path="drill",
)

QUIZ = PageInfo(
    path="pages/quiz.py",
    title=N_("Class quiz"),
    icon=":material/campaign:",
    summary=N_(
        "The teacher asks the whole room one question; the answers arrive live, with the"
        " mistake each wrong one looks like; then the working is revealed to everyone."
    ),
    url_path="quiz",
)

GROUPS_CAUSAL = PageInfo(
    path="pages/groups_causal.py",
    title=N_("Groups and causal"),
    icon=":material/view_week:",
    summary=N_(
        "Grouped, depthwise and depthwise-separable convolution side by side; causal 1D"
        " convolution and dilated causal stacks, one output's dependencies traced."
    ),
    url_path="groups-causal",
)

TRAINING = PageInfo(
    path="pages/training.py",
    title=N_("Training"),
    icon=":material/model_training:",
    summary=N_(
        "Train LeNet-5 on MNIST from the browser: live loss curves, the learning-rate"
        " sweep, compare runs, stop and resume."
    ),
    url_path="training",
)

ERRORS = PageInfo(
    path="pages/errors.py",
    title=N_("Errors"),
    icon=":material/error:",
    summary=N_(
        "A trained run's test risk, a clickable confusion matrix, and a gallery of the test"
        " digits it gets wrong."
    ),
    url_path="errors",
)

ARCHITECTURE = PageInfo(
    path="pages/architecture.py",
    title=N_("LeNet-5"),
    icon=":material/account_tree:",
    summary=N_(
        "LeNet-5 layer by layer: shapes, parameters, MACs, receptive fields; change C1, C3"
        " and the pooling and watch them follow."
    ),
    url_path="lenet",
)

COMPARE = PageInfo(
    path="pages/compare.py",
    title=N_("Compare runs"),
    icon=":material/compare_arrows:",
    summary=N_(
        "Runs side by side: what differs, parameters, MACs, speed, test risk; curves"
        " overlaid; seeds grouped with their spread."
    ),
    url_path="compare",
)

INSIDE = PageInfo(
    path="pages/inside.py",
    title=N_("Inside the network"),
    icon=":material/visibility:",
    summary=N_(
        "A trained LeNet-5's kernels and feature maps for a test digit, one you draw, or"
        " one you upload."
    ),
    url_path="inside",
)

WHY = PageInfo(
    path="pages/why.py",
    title=N_("Why it errs"),
    icon=":material/psychology_alt:",
    summary=N_(
        "Which pixels drove an answer (occlusion, saliency, Grad-CAM, checked by deleting"
        " them), how easily it flips (FGSM, shifts, rotations), and where the mistakes live."
    ),
    url_path="why",
)

# In navigation order; a page is added here when it works.
PAGES: tuple[PageInfo, ...] = (
    WELCOME,
    CONVOLUTION,
    DRILL,
    QUIZ,
    GROUPS_CAUSAL,
    ARCHITECTURE,
    TRAINING,
    COMPARE,
    ERRORS,
    WHY,
    INSIDE,
)
