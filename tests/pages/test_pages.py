"""Pages through Streamlit's AppTest: the real scripts, run headless without a browser."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.convolution.arithmetic import conv_versus_fc
from dashboard.site import REPO_ROOT


def welcome() -> AppTest:
    # Through the router, as in the app: the page map links to pages known to st.navigation.
    app = AppTest.from_file(str(REPO_ROOT / "dashboard/Home.py"), default_timeout=60)
    app.run()
    assert not app.exception
    return app


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def test_home_router_runs_the_welcome_page() -> None:
    app = AppTest.from_file(str(REPO_ROOT / "dashboard/Home.py"), default_timeout=60)
    app.run()
    assert not app.exception
    assert app.title[0].value == "Convolutional neural networks, explained by doing"
    assert not app.exception


def test_comparison_follows_every_input() -> None:
    app = welcome()
    assert metric(app, "Fully connected") == f"{conv_versus_fc(28, 28, 1, 6, 5).fc_params:,}"
    assert any(  # the figure's summary (issue 25)
        c.value.startswith("The fully connected layer needs 2,712,960 parameters, the conv")
        for c in app.caption
    ), [c.value for c in app.caption]
    changes = {
        "height": 20,
        "width": 24,
        "in_channels": 3,
        "out_channels": 8,
        "kernel": 3,
        "padding": 1,
    }
    expected = dict(height=28, width=28, in_channels=1, out_channels=6, kernel=5, padding=0)
    for key, value in changes.items():
        app.number_input(key=key).set_value(value).run()
        expected[key] = value
        layers = conv_versus_fc(**expected)
        assert metric(app, "Fully connected") == f"{layers.fc_params:,}", key
        assert metric(app, "Convolutional") == f"{layers.conv_params:,}", key


def test_impossible_layer_explains_instead_of_crashing() -> None:
    app = welcome()
    app.number_input(key="height").set_value(3).run()
    assert not app.exception
    assert "dilated kernel spans 5 cells but the padded input has 3" in app.error[0].value
    app.number_input(key="padding").set_value(1).run()
    assert not app.error
