"""The why-it-errs page's views and figures."""
