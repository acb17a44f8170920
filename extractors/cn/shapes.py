"""What a Chinese form's text is by its shape alone: a company name, a street address, a phone number, a
tax id (统一社会信用代码).  Used where no label says it (a letterhead, the lines under a party's name) and to
check that a label glued to its value without a colon ('税号9144…', '收货地址青岛市…') really has one."""

from __future__ import annotations

import re

from extractors.cn.checks import uscc_is_valid

# the titles a document names itself by, longest first (a title glued to the letterhead, or letter-spaced)
DOC_WORDS = (r"销售出库单|随货同行单|送货清单|装箱清单|包装清单|销售发票|商业发票|购物小票|收款收据|送货单|出库单|"
             r"发货单|配送单|装箱单|销货单|提货单|销售单|结算单|对账单|发票|小票|收据")
_COMPANY = (r"有限责任公司|股份有限公司|有限公司|集团公司|公司|分公司|厂|商行|经营部|批发部|商店|超市|便利店|"
            r"商场|药房|药店|餐厅|酒家|门市部|合作社|中心|店|行|社|部")
COMPANY_NAME_RX = re.compile(rf"^[^\d:：]{{2,40}}?(?:{_COMPANY})(?:[(][^()]{{1,12}}[)])?$")
_TITLED_RX = re.compile(rf"^(?P<name>[^\d:：]{{2,40}}?(?:{_COMPANY})(?:[(][^()]{{1,12}}[)])?)"
                        rf"(?P<title>[^\d:：]{{0,4}}(?:{DOC_WORDS}))$")
ADDRESS_RX = re.compile(r"^(?=.*(?:省|市|区|县|镇|乡|州))(?=.*(?:路|街|道|巷|村|园|号|弄|大厦|广场|中心)).{5,60}$")
PHONE_SHAPE_RX = re.compile(r"^(?:\+?86-?)?(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:-\d{1,4})?|400-?\d{3}-?\d{4})$")

def company_name(text: str) -> str | None:
    """The company a letterhead cell names ('XX有限公司', 'XX有限公司送货单' or 'XX有限公司销售结算单' less
    its title), else None."""
    m = _TITLED_RX.match(text.strip())
    core = m.group("name") if m else text.strip()
    if not core or ADDRESS_RX.match(core) and not core.endswith(("公司", "厂")):
        return None
    return core if COMPANY_NAME_RX.match(core) else None


def shape_of(text: str) -> str | None:
    """What an unlabelled cell is by its shape: 'tax_id', 'phone', 'address' or 'name'; None otherwise."""
    t = text.strip().lstrip(":：").strip()
    if len(t) == 18 and uscc_is_valid(t):
        return "tax_id"
    if PHONE_SHAPE_RX.match(t.replace(" ", "")):
        return "phone"
    if company_name(t):
        return "name"
    if ADDRESS_RX.match(t) and not any(ch in t for ch in ":："):
        return "address"
    return None


def is_separator(text: str) -> bool:
    """A mark printed between two values on a line: '|', '·', '丨', '/'."""
    return text in ("|", "·", "丨", "/", "•", "｜")
