//! Retrieval on fixture repositories, through the same loading path as the command line: an
//! identifier question, a natural-language question and a traceback question each put the right
//! file and chunk first, and say which signals did.

mod support;

use repolens::{
    analysis::{LoadOptions, LoadedRepository, load_repository},
    retrieve::{Cursor, Question, Retrieval, RetrieveOptions, Signal, retrieve},
    stdx::CancelToken,
};
use support::{Fixture, write_fixture};

const SHOP: &str = r#"
//- /shop/__init__.py
from .cart import Cart
//- /shop/cart.py
"""The shopping cart."""
from .pricing import apply_discount


class Cart:
    """Items a customer is about to buy."""

    def __init__(self):
        self.items = []

    def add_item(self, product, quantity=1):
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self.items.append((product, quantity))

    def total(self, coupon=None):
        subtotal = sum(p.price * q for p, q in self.items)
        return apply_discount(subtotal, coupon)
//- /shop/pricing.py
"""Prices, taxes and discounts."""


def apply_discount(amount, coupon):
    """Take a coupon's percentage off an amount of money."""
    if coupon is None:
        return amount
    return amount * (100 - coupon.percent) / 100


def sales_tax(amount, region):
    """The tax owed on a sale in a region."""
    return amount * region.rate
//- /shop/shipping.py
"""Shipping."""


def shipping_cost(weight_kg, express=False):
    """What it costs to ship a parcel of this weight to the customer."""
    base = 4.5 + 0.8 * weight_kg
    return base * 2 if express else base
//- /tests/test_cart.py
from shop.cart import Cart


def test_add_item():
    cart = Cart()
    cart.add_item("apple", 2)
    assert cart.items == [("apple", 2)]


def test_total_with_discount():
    assert Cart().total() == 0
"#;

fn load(fixture: &Fixture) -> LoadedRepository {
    let options = LoadOptions { no_cache: true, history: false, ..LoadOptions::default() };
    load_repository(fixture.root(), &options, &|_| {}).expect("loading the fixture")
}

#[track_caller]
fn ask(repo: &LoadedRepository, text: &str) -> Retrieval {
    let question = Question { text, cursor: None };
    retrieve(&repo.host.snapshot(), &question, 10, &RetrieveOptions::default(), &CancelToken::new()).unwrap()
}

fn signals_of(reasons: &[repolens::retrieve::Reason]) -> Vec<Signal> {
    reasons.iter().map(|r| r.signal).collect()
}

#[test]
fn an_identifier_question_finds_its_definition() {
    let fixture = write_fixture(SHOP);
    let repo = load(&fixture);
    let found = ask(&repo, "what does apply_discount do with a None coupon?");
    let top = &found.chunks[0];
    assert_eq!((top.path.as_str(), top.symbol.as_deref()), ("shop/pricing.py", Some("apply_discount")));
    assert_eq!((top.start_line, top.end_line), (4, 8));
    assert!(signals_of(&top.reasons).contains(&Signal::Identifier), "{:?}", top.reasons);
    assert_eq!(found.files[0].path, "shop/pricing.py");
    assert_eq!(found.symbols[0].qualified_name, "apply_discount");
}

#[test]
fn a_natural_language_question_finds_the_code_by_its_words() {
    let fixture = write_fixture(SHOP);
    let repo = load(&fixture);
    let found = ask(&repo, "how much does it cost to ship a heavy parcel express?");
    assert_eq!(found.files[0].path, "shop/shipping.py", "{:?}", found.files);
    assert_eq!(found.chunks[0].symbol.as_deref(), Some("shipping_cost"));
    assert!(signals_of(&found.chunks[0].reasons).contains(&Signal::Text));
}

#[test]
fn a_traceback_question_points_at_the_raising_frame() {
    let fixture = write_fixture(SHOP);
    let repo = load(&fixture);
    let found = ask(
        &repo,
        r#"Adding zero apples crashes:

Traceback (most recent call last):
  File "/home/me/app.py", line 3, in <module>
    cart.add_item("apple", 0)
  File "/usr/lib/python3/site-packages/shop/cart.py", line 14, in add_item
    raise ValueError("quantity must be positive")
ValueError: quantity must be positive
"#,
    );
    let top = &found.chunks[0];
    assert_eq!((top.path.as_str(), top.symbol.as_deref()), ("shop/cart.py", Some("Cart.add_item")));
    assert_eq!(top.focus_line, Some(14));
    assert!(signals_of(&top.reasons).contains(&Signal::Traceback), "{:?}", top.reasons);
    assert_eq!(found.signals.frames.len(), 2);
    // Test code mentions the same names, but ranks below the code itself.
    let test_rank = found.files.iter().position(|f| f.path == "tests/test_cart.py");
    assert!(test_rank.is_none_or(|r| r > 0), "{:?}", found.files);
}

#[test]
fn the_cursor_symbol_is_a_signal() {
    let fixture = write_fixture(SHOP);
    let repo = load(&fixture);
    let analysis = repo.host.snapshot();
    let path = repolens::workspace::VfsPath::Disk(fixture.path("shop/pricing.py"));
    let file = analysis.file_id(&path).expect("indexed");
    let offset = fixture.read("shop/pricing.py").find("region.rate").unwrap() as u32;
    let question = Question { text: "what does this compute?", cursor: Some(Cursor { file, offset }) };
    let found = retrieve(&analysis, &question, 5, &RetrieveOptions::default(), &CancelToken::new()).unwrap();
    let top = &found.chunks[0];
    assert_eq!(top.symbol.as_deref(), Some("sales_tax"), "{:?}", found.chunks);
    assert!(signals_of(&top.reasons).contains(&Signal::Cursor));
}

#[test]
fn a_cancelled_retrieval_stops() {
    let fixture = write_fixture(SHOP);
    let repo = load(&fixture);
    let cancel = CancelToken::new();
    cancel.cancel();
    let question = Question { text: "cart", cursor: None };
    assert!(retrieve(&repo.host.snapshot(), &question, 5, &RetrieveOptions::default(), &cancel).is_err());
}
