"""Which of the shop's columns is which canonical field, and which action words mean "purchase".

`guess_mapping` reads a header the way a person would (CustomerID → user_id, StockCode → item_id, 下单时间 →
timestamp …: case, spaces, underscores and Chinese names tolerated); the page and the CLI let the user correct it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.i18n import N_, Message
from core.ingest.report import IngestError, OptionError
from core.schema import ACTIONS, EVENTS, ITEMS, OTHER_ACTION, PURCHASE, USERS, TableSchema

KINDS = ("events", "items", "users", "transactions")
KIND_LABELS = {  # N_: shown translated by the Upload page
    "events": N_("Behaviour events (user, item, action, time)"),
    "items": N_("Item catalogue"),
    "users": N_("User profiles"),
    "transactions": N_("Transactions export (feeds events, items and users)"),
}

# Aliases per canonical field, best first; compared after normalising (lower case, no spaces/underscores/dashes).
ALIASES: dict[str, tuple[str, ...]] = {
    "user_id": ("userid", "user", "customerid", "customer", "custid", "clientid", "client", "memberid", "member",
                "buyerid", "buyer", "visitorid", "visitor", "accountid", "uid", "用户id", "用户", "用户编号",
                "客户id", "客户编号", "客户", "会员id", "会员", "买家id", "买家"),
    "item_id": ("itemid", "item", "productid", "product", "sku", "skuid", "stockcode", "articleid", "article",
                "asin", "goodsid", "goods", "productcode", "itemcode", "pid", "iid", "商品id", "商品编号", "商品",
                "产品id", "产品编号", "货号", "物品id"),
    "timestamp": ("timestamp", "time", "datetime", "eventtime", "date", "invoicedate", "orderdate", "ordertime",
                  "purchasedate", "transactiondate", "eventdate", "ts", "when", "createdat", "时间", "时间戳", "日期",
                  "下单时间", "购买时间", "行为时间", "发生时间"),
    "action_type": ("actiontype", "action", "eventtype", "event", "behaviortype", "behaviourtype", "behavior",
                    "behaviour", "interaction", "type", "行为类型", "行为", "动作", "事件类型", "事件"),
    "quantity": ("quantity", "qty", "count", "units", "number", "数量", "购买数量", "件数"),
    "price": ("price", "unitprice", "itemprice", "saleprice", "amount", "价格", "单价", "售价", "金额"),
    "session": ("session", "sessionid", "visitid", "会话", "会话id"),
    "invoice": ("invoice", "invoiceno", "invoiceid", "invoicenumber", "orderid", "orderno", "ordernumber", "order",
                "transactionid", "订单号", "订单id", "订单编号", "订单"),
    "title": ("title", "name", "productname", "itemname", "producttitle", "itemtitle", "goodsname", "标题",
              "商品名称", "商品名", "名称", "产品名称", "品名"),
    "description": ("description", "desc", "details", "productdescription", "itemdescription", "text", "描述",
                    "商品描述", "详情", "说明"),
    "category": ("category", "categoryname", "cat", "department", "productcategory", "itemcategory", "genre",
                 "类目", "分类", "品类", "类别"),
    "brand": ("brand", "brandname", "manufacturer", "品牌"),
    "listed_at": ("listedat", "listeddate", "releasedate", "launchdate", "firstavailable", "上架时间", "上市时间"),
    "age": ("age", "年龄"),
    "gender": ("gender", "sex", "性别"),
    "region": ("region", "country", "city", "state", "province", "location", "area", "地区", "国家", "城市",
               "省份", "地域"),
    "signup_date": ("signupdate", "signup", "registrationdate", "registered", "registerdate", "joined", "joindate",
                    "memberSince".lower(), "注册时间", "注册日期", "开户时间"),
}

# Shop words for canonical actions (normalised like column names). Cancellation words are flagged instead.
ACTION_WORDS: dict[str, tuple[str, ...]] = {
    "view": ("view", "pv", "pageview", "detail", "detailview", "browse", "visit", "impression", "浏览", "查看"),
    "click": ("click", "clk", "tap", "点击"),
    "favorite": ("favorite", "favourite", "fav", "like", "wishlist", "addtowishlist", "addtofavorites",
                 "addtofavourites", "collect", "save", "收藏", "喜欢"),
    "cart": ("cart", "addtocart", "addcart", "basket", "addtobasket", "加购", "加入购物车", "购物车"),
    "purchase": ("purchase", "buy", "bought", "order", "transaction", "checkout", "paid", "pay", "sale", "购买",
                 "下单", "支付", "成交", "付款"),
}
CANCEL_WORDS = ("cancel", "cancelled", "canceled", "cancellation", "refund", "return", "returned", "取消", "退款", "退货")


def normalise(name: str) -> str:
    return re.sub(r"[\s_\-./()\[\]#:]+", "", str(name).strip().lower())


def _fields_for(kind: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(required, one_of, optional) canonical fields a file of `kind` may fill."""
    if kind not in KINDS:
        raise IngestError(Message('unknown upload kind {kind!r}; use one of {value}', kind=kind, value=', '.join(KINDS)))
    if kind == "transactions":
        extra = ("title", "description", "category", "brand", "age", "gender", "region")
        return EVENTS.required, (), EVENTS.optional + extra
    schema: TableSchema = {"events": EVENTS, "items": ITEMS, "users": USERS}[kind]
    return schema.required, schema.one_of, schema.optional


def fields_for(kind: str) -> tuple[str, ...]:
    req, one_of, opt = _fields_for(kind)
    return req + one_of + opt


@dataclass
class ColumnMapping:
    """canonical field → source column, plus how action values become canonical actions."""

    kind: str
    columns: dict[str, str] = field(default_factory=dict)
    purchase_values: tuple[str, ...] | None = None  # raw action values meaning purchase (None: guess from words)
    all_purchases: bool = False  # every row is a purchase (transactions exports)
    timestamp_format: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise IngestError(Message('unknown upload kind {kind!r}; use one of {value}', kind=self.kind, value=', '.join(KINDS)))
        allowed = fields_for(self.kind)
        for f in self.columns:
            if f not in allowed:
                raise OptionError(Message('{f!r} is not a field of a {kind} file; fields: {value}', f=f, kind=self.kind, value=', '.join(allowed)))

    def with_overrides(self, overrides: dict[str, str]) -> ColumnMapping:
        """`overrides`: source column → field ('' or 'ignore' unmaps the column)."""
        columns = {f: c for f, c in self.columns.items() if c not in overrides}
        for col, target in overrides.items():
            if target in ("", "ignore", None):
                continue
            columns[target] = col
        all_purchases = self.all_purchases
        if self.kind == "events" and ("action_type" in columns) != ("action_type" in self.columns):
            all_purchases = "action_type" not in columns  # the guess's "no action column: all purchases" follows
        return ColumnMapping(self.kind, columns, self.purchase_values, all_purchases, self.timestamp_format)

    def validate(self, header: list[str], file: str) -> None:
        """Every required field mapped to a column that exists; names the gap and the header's columns."""
        cols = ", ".join(header)
        for f, c in self.columns.items():
            if c not in header:
                raise IngestError(Message('field {f} is mapped to column {c!r}, which the file does not have; its columns are: {cols}', f=f, c=c, cols=cols), file=file, line=1, column=c)
        required, one_of, _ = _fields_for(self.kind)
        for f in required:
            if f not in self.columns:
                raise IngestError(Message('required column {f} is missing: no column of the header ({cols}) was recognised as {f}; map one (CLI: --map COLUMN={f})', f=f, cols=cols), file=file, line=1)
        if one_of and not any(f in self.columns for f in one_of):
            raise IngestError(Message('a {kind} file needs one of the columns {value}; the header has: {cols}; map one (CLI: --map COLUMN={one_of})', kind=self.kind, value=' or '.join(one_of), cols=cols, one_of=one_of[0]), file=file, line=1)
        used = list(self.columns.values())
        twice = sorted({c for c in used if used.count(c) > 1})
        if twice:
            raise IngestError(Message('column(s) {twice} are mapped to more than one field', twice=twice), file=file)

    def extra_columns(self, header: list[str]) -> list[str]:
        used = set(self.columns.values())
        return [c for c in header if c not in used]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "columns": dict(self.columns), "purchase_values": self.purchase_values,
                "all_purchases": self.all_purchases, "timestamp_format": self.timestamp_format}


def guess_mapping(kind: str, header: list[str]) -> ColumnMapping:
    """Best guess: each field takes the header column matching its earliest alias; each column used once."""
    fields = fields_for(kind)
    norm = {c: normalise(c) for c in header}
    candidates = []
    for f in fields:
        for rank, alias in enumerate(ALIASES.get(f, (f,))):
            for c in header:
                if norm[c] == alias:
                    candidates.append((rank, fields.index(f), f, c))
    columns: dict[str, str] = {}
    used: set[str] = set()
    for _, _, f, c in sorted(candidates):
        if f not in columns and c not in used:
            columns[f] = c
            used.add(c)
    if kind == "transactions" and "title" not in columns and "description" in columns:
        columns["title"] = columns.pop("description")  # a transactions export's Description is the product name
    all_purchases = kind == "transactions" or (kind == "events" and "action_type" not in columns)
    return ColumnMapping(kind, columns, all_purchases=all_purchases)


def guess_action(value: str) -> str | None:
    """Canonical action for a shop's action word; 'cancel' for cancellation words; None if not recognised."""
    n = normalise(value)
    if n in ACTIONS:
        return n
    for canonical, words in ACTION_WORDS.items():
        if n in words:
            return canonical
    if n in CANCEL_WORDS:
        return "cancel"
    return None


@dataclass
class ActionTable:
    """Raw action value → canonical action ('other' when unknown), cancellations listed apart."""

    actions: dict[str, str]
    cancellations: set[str]
    unknown: set[str]


def map_actions(values: pd.Series, mapping: ColumnMapping) -> ActionTable:
    """Decide what each distinct raw value means, honouring the user's purchase values."""
    distinct = [str(v) for v in pd.unique(values.dropna())]
    chosen = {normalise(v) for v in mapping.purchase_values} if mapping.purchase_values is not None else None
    actions, cancels, unknown = {}, set(), set()
    for raw in distinct:
        guess = guess_action(raw)
        if chosen is not None:
            if normalise(raw) in chosen:
                guess = PURCHASE
            elif guess == PURCHASE:
                guess = OTHER_ACTION  # the user named the purchase values; other buy-like words are not purchases
        if guess == "cancel":
            cancels.add(raw)
            guess = OTHER_ACTION
        if guess is None:
            unknown.add(raw)
            guess = OTHER_ACTION
        actions[raw] = guess
    return ActionTable(actions, cancels, unknown)


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """CLI `--map Column=field` pairs as a dict; a clear error for a malformed pair."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise OptionError(Message('--map expects COLUMN=FIELD, got {pair!r}', pair=pair))
        col, target = pair.rsplit("=", 1)
        out[col.strip()] = target.strip()
    return out


def likely_purchase_values(values: list[str]) -> list[str]:
    """The action values that read as a purchase: the page's default answer to "which value means purchase?"."""
    return [v for v in values if guess_action(v) == PURCHASE]
