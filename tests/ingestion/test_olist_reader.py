"""The CSV reader on hand-written bytes in the real files' formats, including every kind of bad row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from ingestion.errors import OlistFileError
from ingestion.olist_reader import check_folder, read_olist_file
from ingestion.olist_schema import (
    CATEGORY_TRANSLATION,
    CUSTOMERS,
    OLIST_TABLES,
    ORDER_ITEMS,
    ORDER_REVIEWS,
    ORDERS,
)

OID = "e481f51cbdc54678b7cc49136f2d6af7"
CID = "9ef432eb6251297304e76186b10a928d"


def _quoted_header(columns: list[str]) -> str:
    return ",".join(f'"{c}"' for c in columns)


def _read(path: Path, table):  # type: ignore[no-untyped-def]
    chunks = list(read_olist_file(path, table, chunk_rows=2))
    rows = [row for chunk in chunks for row in chunk.batch.to_pylist()]
    quarantined = [q for chunk in chunks for q in chunk.quarantined]
    return rows, quarantined


def test_reviews_with_crlf_and_multiline_quoted_text(tmp_path: Path) -> None:
    path = tmp_path / ORDER_REVIEWS.file_name
    text = (
        _quoted_header(ORDER_REVIEWS.header) + "\r\n"
        f"7bc2406110b926393aa56f80a40eba40,{OID},4,,,2018-01-18 00:00:00,2018-01-18 21:46:59\r\n"
        f'"80e641a11e56f04c1ad469d5645fdfde","{OID}",5,"Ótimo","Chegou antes do prazo,\r\n'
        'produto de ""primeira"" qualidade.\nRecomendo!",2018-03-10 00:00:00,2018-03-11 03:05:13\r\n'
    )
    path.write_bytes(text.encode("utf-8"))
    rows, quarantined = _read(path, ORDER_REVIEWS)
    assert quarantined == []
    assert [r["review_score"] for r in rows] == [4, 5]
    assert rows[0]["review_comment_message"] == ""
    assert rows[1]["review_comment_message"] == (
        'Chegou antes do prazo,\r\nproduto de "primeira" qualidade.\nRecomendo!'
    )
    assert rows[1]["review_answer_timestamp"] == dt.datetime(2018, 3, 11, 3, 5, 13)


def test_translation_file_with_bom_unquoted_header_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / CATEGORY_TRANSLATION.file_name
    body = "product_category_name,product_category_name_english\r\nbeleza_saude,health_beauty\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    rows, quarantined = _read(path, CATEGORY_TRANSLATION)
    assert quarantined == []
    assert rows == [
        {"product_category_name": "beleza_saude", "product_category_name_english": "health_beauty"}
    ]


def test_zip_prefixes_keep_leading_zeros_whatever_the_quoting(tmp_path: Path) -> None:
    path = tmp_path / CUSTOMERS.file_name
    path.write_text(
        _quoted_header(CUSTOMERS.header) + "\n"
        f'"{CID}",861eff4711a542e4b93843c6dd7febb0,"01310",sao paulo,SP\n'
        f"{CID[::-1]},290c77bc529b7ac935b93aa66c333dc3,09790,sao bernardo do campo,SP\n",
        encoding="utf-8",
    )
    rows, _ = _read(path, CUSTOMERS)
    assert [r["customer_zip_code_prefix"] for r in rows] == ["01310", "09790"]


def test_types_and_empty_values(tmp_path: Path) -> None:
    path = tmp_path / ORDER_ITEMS.file_name
    path.write_text(
        _quoted_header(ORDER_ITEMS.header) + "\n"
        f"{OID},1,4244733e06e7ecb4970a6e2683c13e61,48436dade18ac8b2bce089ec2a041202,"
        "2017-09-19 09:45:35,58.90,13.29\n",
        encoding="utf-8",
    )
    rows, _ = _read(path, ORDER_ITEMS)
    assert rows[0]["price"] == Decimal("58.90")
    assert rows[0]["freight_value"] == Decimal("13.29")
    assert rows[0]["order_item_id"] == 1

    orders = tmp_path / ORDERS.file_name
    orders.write_text(
        _quoted_header(ORDERS.header) + "\n"
        f"{OID},{CID},shipped,2017-10-02 10:56:33,2017-10-02 11:07:15,2017-10-04 19:55:00,,"
        "2017-10-18 00:00:00\n",
        encoding="utf-8",
    )
    rows, quarantined = _read(orders, ORDERS)
    assert quarantined == []
    assert rows[0]["order_delivered_customer_date"] is None  # empty = unknown, not an error


def test_bad_rows_are_quarantined_with_physical_line_and_reason(tmp_path: Path) -> None:
    path = tmp_path / ORDERS.file_name
    good = f"{OID},{CID},delivered,2017-10-02 10:56:33,,,,2017-10-18 00:00:00\n"
    lines = [
        _quoted_header(ORDERS.header) + "\n",
        good,  # line 2
        f'{OID[:-1]}1,"{CID}\nsplit",delivered,2017-10-02 10:56:33,,,,2017-10-18 00:00:00\n',  # 3-4
        f"{OID[:-1]}2,{CID},delivered\n",  # 5: 3 fields
        f"{OID[:-1]}3,{CID},delivered,2017-02-30 10:00:00,,,,2017-10-18 00:00:00\n",  # 6: no such day
        f"{OID[:-1]}4,{CID},delivered,ontem,,,,2017-10-18 00:00:00\n",  # 7: not a date
    ]
    data = (
        "".join(lines).encode()
        + f"{OID[:-1]}5,".encode()
        + b"\xff\xfe"
        + (f",delivered,2017-10-02 10:56:33,,,,2017-10-18 00:00:00\n{good}").encode()
    )  # 8: bad bytes; 9 good
    path.write_bytes(data)
    rows, quarantined = _read(path, ORDERS)
    assert len(rows) == 3
    assert [(q.line_number, q.reason.split(":")[0]) for q in quarantined] == [
        (5, "expected 8 fields, found 3"),
        (6, "column order_purchase_timestamp"),
        (7, "column order_purchase_timestamp"),
        (8, "not valid UTF-8"),
    ]
    assert "'ontem' is not a timestamp" in quarantined[2].reason
    assert all(q.file_name == ORDERS.file_name for q in quarantined)


def test_bad_decimal_quarantined(tmp_path: Path) -> None:
    path = tmp_path / ORDER_ITEMS.file_name
    path.write_text(
        _quoted_header(ORDER_ITEMS.header) + "\n"
        f"{OID},1,4244733e06e7ecb4970a6e2683c13e61,48436dade18ac8b2bce089ec2a041202,"
        '2017-09-19 09:45:35,"58,90",13.29\n',
        encoding="utf-8",
    )
    rows, quarantined = _read(path, ORDER_ITEMS)
    assert rows == []
    assert quarantined[0].line_number == 2
    assert "column price: '58,90' is not a decimal" in quarantined[0].reason


def test_missing_file_and_wrong_header_name_the_file_and_expected_header(tmp_path: Path) -> None:
    with pytest.raises(
        OlistFileError, match=r"olist_orders_dataset\.csv: file missing.*order_id,customer_id"
    ):
        check_folder(tmp_path)
    for table in OLIST_TABLES:
        (tmp_path / table.file_name).write_text(_quoted_header(table.header) + "\n", encoding="utf-8")
    assert set(check_folder(tmp_path)) == {t.table for t in OLIST_TABLES}

    wrong = list(ORDERS.header)
    wrong[3] = "purchase_ts"
    (tmp_path / ORDERS.file_name).write_text(_quoted_header(wrong) + "\n", encoding="utf-8")
    with pytest.raises(
        OlistFileError,
        match=r"wrong header.*Expected exactly: order_id,customer_id,order_status,"
        r"order_purchase_timestamp",
    ):
        check_folder(tmp_path)
