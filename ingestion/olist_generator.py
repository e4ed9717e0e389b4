"""Olist-shaped synthetic data: the nine CSV files with the real names, columns, formats and quirks.

Users without the Kaggle files, and every test, CI run and benchmark, still need input that stresses the
pipeline the way the real files do: mixed quoting, CRLF and a BOM in some files, line breaks inside quoted
review texts, leading-zero zips, empty timestamps, repeated review ids, untranslated categories, messy
delivery dates and PII hidden in free text. The generator reproduces those on purpose, and never a real row.

Design:
- One numpy Generator per (seed, stream, chunk), so output depends only on (scale, seed) and each part is
  independent of how much randomness the others drew.
- A small "world" (places, sellers, products) is built in memory; orders and everything hanging off them
  (customers, items, payments, reviews) are generated and written in fixed-size chunks, geolocation in row
  chunks, so memory stays bounded whatever the scale.
- Columns are built vectorised; rows are joined once per chunk.
- Files are written into a hidden sibling directory that is renamed to out_dir only when complete.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from ingestion.olist_schema import (
    BRAZILIAN_STATES,
    CATEGORY_TRANSLATION,
    CUSTOMERS,
    GEOLOCATION,
    ORDER_ITEMS,
    ORDER_PAYMENTS,
    ORDER_REVIEWS,
    ORDERS,
    PRODUCTS,
    SELLERS,
    OlistTable,
)

Progress = Callable[[str, int], None]
IntArray = np.ndarray
FloatArray = np.ndarray
BoolArray = np.ndarray

ORDER_CHUNK = 20_000  # orders generated and written together; bounds memory at any scale
GEO_CHUNK = 100_000  # geolocation rows written together
DAY = 86_400
HOUR = 3_600
MISSING = np.iinfo(np.int64).min  # an empty timestamp; it is also numpy's NaT


# --------------------------------------------------------------------------------------------- places


@dataclass(frozen=True)
class _City:
    name: str  # lower case without accents, as customers and sellers spell it
    lat: float
    lng: float
    weight: float  # relative share of the state's zip prefixes
    accented: str = ""  # the accented spelling geolocation mixes in, when the name has one


@dataclass(frozen=True)
class _State:
    zip_range: tuple[int, int]  # first and last 5-digit CEP prefix of the state
    customer_share: float  # % of customers (real Olist shape, SP ~42%)
    seller_share: float  # % of sellers (SP ~60%)
    cities: tuple[_City, ...]


C = _City
_STATES: dict[str, _State] = {
    "SP": _State((1000, 19999), 41.98, 59.74, (
        C("sao paulo", -23.55, -46.63, 40, "são paulo"), C("campinas", -22.91, -47.06, 6),
        C("guarulhos", -23.46, -46.53, 5),
        C("sao bernardo do campo", -23.69, -46.56, 4, "são bernardo do campo"),
        C("santo andre", -23.66, -46.53, 4, "santo andré"), C("osasco", -23.53, -46.79, 4),
        C("santos", -23.96, -46.33, 3), C("sorocaba", -23.50, -47.46, 3),
        C("ribeirao preto", -21.18, -47.81, 3, "ribeirão preto"),
        C("sao jose dos campos", -23.18, -45.88, 3, "são josé dos campos"),
        C("jundiai", -23.19, -46.88, 2, "jundiaí"), C("piracicaba", -22.73, -47.65, 2),
        C("mogi das cruzes", -23.52, -46.19, 2), C("barueri", -23.51, -46.88, 1.5),
        C("sao jose do rio preto", -20.81, -49.38, 1.5, "são josé do rio preto"),
        C("bauru", -22.31, -49.06, 1.5),
        C("franca", -20.54, -47.40, 1), C("taubate", -23.03, -45.56, 1, "taubaté"),
    )),
    "RJ": _State((20000, 28999), 12.92, 5.53, (
        C("rio de janeiro", -22.91, -43.17, 50), C("niteroi", -22.88, -43.10, 8, "niterói"),
        C("nova iguacu", -22.76, -43.45, 6, "nova iguaçu"), C("duque de caxias", -22.79, -43.31, 6),
        C("sao goncalo", -22.83, -43.05, 6, "são gonçalo"), C("petropolis", -22.51, -43.18, 3, "petrópolis"),
        C("volta redonda", -22.52, -44.10, 3), C("campos dos goytacazes", -21.75, -41.32, 3),
        C("macae", -22.37, -41.79, 2, "macaé"),
    )),
    "ES": _State((29000, 29999), 2.04, 0.74, (
        C("vitoria", -20.32, -40.34, 20, "vitória"), C("vila velha", -20.33, -40.29, 20),
        C("serra", -20.13, -40.31, 15), C("cariacica", -20.26, -40.42, 10),
        C("cachoeiro de itapemirim", -20.85, -41.11, 5), C("linhares", -19.39, -40.07, 4),
    )),
    "MG": _State((30000, 39999), 11.70, 7.88, (
        C("belo horizonte", -19.92, -43.94, 30), C("contagem", -19.93, -44.05, 5),
        C("uberlandia", -18.92, -48.28, 6, "uberlândia"), C("juiz de fora", -21.76, -43.35, 6),
        C("betim", -19.97, -44.20, 3), C("montes claros", -16.73, -43.86, 3), C("uberaba", -19.75, -47.93, 3),
        C("ipatinga", -19.47, -42.54, 2), C("divinopolis", -20.14, -44.88, 2, "divinópolis"),
        C("pocos de caldas", -21.79, -46.56, 2, "poços de caldas"),
    )),
    "BA": _State((40000, 48999), 3.40, 0.61, (
        C("salvador", -12.97, -38.50, 40), C("feira de santana", -12.27, -38.97, 8),
        C("vitoria da conquista", -14.86, -40.84, 5, "vitória da conquista"),
        C("lauro de freitas", -12.89, -38.33, 4), C("camacari", -12.70, -38.32, 4, "camaçari"),
        C("itabuna", -14.79, -39.28, 3), C("ilheus", -14.79, -39.05, 3, "ilhéus"),
    )),
    "SE": _State((49000, 49999), 0.35, 0.06, (
        C("aracaju", -10.95, -37.07, 50), C("nossa senhora do socorro", -10.86, -37.13, 6),
        C("lagarto", -10.92, -37.65, 3), C("itabaiana", -10.69, -37.43, 3),
    )),
    "PE": _State((50000, 56999), 1.66, 0.29, (
        C("recife", -8.05, -34.88, 35),
        C("jaboatao dos guararapes", -8.11, -35.01, 8, "jaboatão dos guararapes"),
        C("olinda", -8.01, -34.86, 6), C("caruaru", -8.28, -35.98, 5), C("petrolina", -9.39, -40.50, 5),
        C("paulista", -7.94, -34.87, 4),
    )),
    "AL": _State((57000, 57999), 0.41, 0.0, (
        C("maceio", -9.67, -35.74, 50, "maceió"), C("arapiraca", -9.75, -36.66, 8),
        C("rio largo", -9.48, -35.85, 3), C("palmeira dos indios", -9.41, -36.63, 3, "palmeira dos índios"),
    )),
    "PB": _State((58000, 58999), 0.54, 0.19, (
        C("joao pessoa", -7.12, -34.86, 40, "joão pessoa"), C("campina grande", -7.23, -35.88, 15),
        C("santa rita", -7.11, -34.98, 3), C("patos", -7.02, -37.28, 3), C("bayeux", -7.13, -34.93, 2),
    )),
    "RN": _State((59000, 59999), 0.49, 0.16, (
        C("natal", -5.79, -35.21, 45), C("mossoro", -5.19, -37.34, 10, "mossoró"),
        C("parnamirim", -5.92, -35.26, 8), C("caico", -6.46, -37.10, 3, "caicó"),
    )),
    "CE": _State((60000, 63999), 1.34, 0.42, (
        C("fortaleza", -3.73, -38.53, 50), C("caucaia", -3.74, -38.66, 5),
        C("juazeiro do norte", -7.21, -39.32, 5), C("maracanau", -3.88, -38.63, 4, "maracanaú"),
        C("sobral", -3.69, -40.35, 4),
    )),
    "PI": _State((64000, 64999), 0.50, 0.03, (
        C("teresina", -5.09, -42.80, 50), C("parnaiba", -2.90, -41.78, 6, "parnaíba"),
        C("picos", -7.08, -41.47, 4), C("floriano", -6.77, -43.02, 3),
    )),
    "MA": _State((65000, 65999), 0.75, 0.03, (
        C("sao luis", -2.53, -44.30, 40, "são luís"), C("imperatriz", -5.53, -47.49, 10),
        C("timon", -5.09, -42.84, 4), C("caxias", -4.86, -43.36, 3),
        C("sao jose de ribamar", -2.56, -44.06, 3, "são josé de ribamar"),
    )),
    "PA": _State((66000, 68899), 0.98, 0.03, (
        C("belem", -1.46, -48.50, 35, "belém"), C("ananindeua", -1.37, -48.37, 10),
        C("santarem", -2.44, -54.71, 5, "santarém"), C("maraba", -5.37, -49.12, 5, "marabá"),
        C("parauapebas", -6.07, -49.90, 4), C("castanhal", -1.30, -47.93, 3),
    )),
    "AP": _State((68900, 68999), 0.07, 0.0, (
        C("macapa", 0.03, -51.07, 60, "macapá"), C("santana", -0.06, -51.17, 10),
        C("laranjal do jari", -0.80, -52.45, 3),
    )),
    "AM": _State((69000, 69299), 0.15, 0.03, (
        C("manaus", -3.12, -60.02, 80), C("parintins", -2.63, -56.74, 3), C("itacoatiara", -3.14, -58.44, 3),
        C("manacapuru", -3.30, -60.62, 3),
    )),
    "RR": _State((69300, 69399), 0.05, 0.0, (
        C("boa vista", 2.82, -60.67, 70), C("rorainopolis", 0.94, -60.42, 5, "rorainópolis"),
        C("caracarai", 1.82, -61.13, 3, "caracaraí"),
    )),
    "AC": _State((69900, 69999), 0.08, 0.03, (
        C("rio branco", -9.97, -67.81, 60), C("cruzeiro do sul", -7.63, -72.67, 8),
        C("sena madureira", -9.07, -68.66, 3),
    )),
    "DF": _State((70000, 72799), 2.15, 0.97, (
        C("brasilia", -15.79, -47.88, 60, "brasília"), C("taguatinga", -15.83, -48.06, 10),
        C("ceilandia", -15.82, -48.11, 8, "ceilândia"), C("gama", -16.02, -48.06, 4),
        C("sobradinho", -15.65, -47.79, 4), C("guara", -15.82, -47.98, 4, "guará"),
    )),
    "GO": _State((74000, 76799), 2.03, 1.29, (
        C("goiania", -16.69, -49.26, 40, "goiânia"),
        C("aparecida de goiania", -16.82, -49.24, 10, "aparecida de goiânia"),
        C("anapolis", -16.33, -48.95, 8, "anápolis"), C("rio verde", -17.80, -50.93, 4),
        C("luziania", -16.25, -47.95, 3, "luziânia"), C("catalao", -18.17, -47.95, 2, "catalão"),
    )),
    "RO": _State((76800, 76999), 0.25, 0.06, (
        C("porto velho", -8.76, -63.90, 30), C("ji-parana", -10.88, -61.95, 8, "ji-paraná"),
        C("ariquemes", -9.91, -63.04, 6), C("vilhena", -12.74, -60.15, 5), C("cacoal", -11.44, -61.45, 4),
    )),
    "TO": _State((77000, 77999), 0.28, 0.0, (
        C("palmas", -10.18, -48.33, 30), C("araguaina", -7.19, -48.21, 10, "araguaína"),
        C("gurupi", -11.73, -49.07, 5), C("porto nacional", -10.71, -48.42, 3),
    )),
    "MT": _State((78000, 78899), 0.91, 0.13, (
        C("cuiaba", -15.60, -56.10, 30, "cuiabá"), C("varzea grande", -15.65, -56.13, 10, "várzea grande"),
        C("rondonopolis", -16.47, -54.64, 6, "rondonópolis"), C("sinop", -11.86, -55.51, 5),
        C("sorriso", -12.55, -55.71, 3), C("tangara da serra", -14.62, -57.49, 2, "tangará da serra"),
    )),
    "MS": _State((79000, 79999), 0.72, 0.16, (
        C("campo grande", -20.47, -54.62, 40), C("dourados", -22.22, -54.81, 8),
        C("tres lagoas", -20.79, -51.70, 5, "três lagoas"), C("corumba", -19.01, -57.65, 3, "corumbá"),
        C("ponta pora", -22.54, -55.73, 3, "ponta porã"),
    )),
    "PR": _State((80000, 87999), 5.07, 11.28, (
        C("curitiba", -25.43, -49.27, 35), C("londrina", -23.31, -51.16, 10),
        C("maringa", -23.42, -51.94, 8, "maringá"), C("ponta grossa", -25.09, -50.16, 5),
        C("cascavel", -24.96, -53.46, 4),
        C("sao jose dos pinhais", -25.53, -49.21, 4, "são josé dos pinhais"),
        C("foz do iguacu", -25.55, -54.59, 3, "foz do iguaçu"),
    )),
    "SC": _State((88000, 89999), 3.66, 6.14, (
        C("florianopolis", -27.59, -48.55, 20, "florianópolis"), C("joinville", -26.30, -48.85, 12),
        C("blumenau", -26.92, -49.07, 10), C("sao jose", -27.61, -48.63, 6, "são josé"),
        C("itajai", -26.91, -48.66, 5, "itajaí"), C("criciuma", -28.68, -49.37, 5, "criciúma"),
        C("chapeco", -27.10, -52.62, 4, "chapecó"),
        C("balneario camboriu", -26.99, -48.63, 4, "balneário camboriú"),
    )),
    "RS": _State((90000, 99999), 5.50, 4.17, (
        C("porto alegre", -30.03, -51.23, 35), C("caxias do sul", -29.17, -51.18, 8),
        C("canoas", -29.92, -51.18, 6), C("pelotas", -31.77, -52.34, 5), C("santa maria", -29.68, -53.81, 5),
        C("novo hamburgo", -29.68, -51.13, 4), C("passo fundo", -28.26, -52.41, 3),
    )),
}  # fmt: skip

_CITIES: list[_City] = [city for code in BRAZILIAN_STATES for city in _STATES[code].cities]
_CITY_OFFSET = np.cumsum([0] + [len(_STATES[code].cities) for code in BRAZILIAN_STATES])


# ------------------------------------------------------------------------------------------ categories

# The 71 rows of the real translation file (a public lookup, in the real spellings, typos included).
_TRANSLATIONS: tuple[tuple[str, str], ...] = (
    ("beleza_saude", "health_beauty"), ("informatica_acessorios", "computers_accessories"),
    ("automotivo", "auto"), ("cama_mesa_banho", "bed_bath_table"), ("moveis_decoracao", "furniture_decor"),
    ("esporte_lazer", "sports_leisure"), ("perfumaria", "perfumery"), ("utilidades_domesticas", "housewares"),
    ("telefonia", "telephony"), ("relogios_presentes", "watches_gifts"), ("alimentos_bebidas", "food_drink"),
    ("bebes", "baby"), ("papelaria", "stationery"), ("tablets_impressao_imagem", "tablets_printing_image"),
    ("brinquedos", "toys"), ("telefonia_fixa", "fixed_telephony"), ("ferramentas_jardim", "garden_tools"),
    ("fashion_bolsas_e_acessorios", "fashion_bags_accessories"), ("eletroportateis", "small_appliances"),
    ("consoles_games", "consoles_games"), ("audio", "audio"), ("fashion_calcados", "fashion_shoes"),
    ("cool_stuff", "cool_stuff"), ("malas_acessorios", "luggage_accessories"),
    ("climatizacao", "air_conditioning"),
    ("construcao_ferramentas_construcao", "construction_tools_construction"),
    ("moveis_cozinha_area_de_servico_jantar_e_jardim", "kitchen_dining_laundry_garden_furniture"),
    ("construcao_ferramentas_jardim", "costruction_tools_garden"),
    ("fashion_roupa_masculina", "fashion_male_clothing"), ("pet_shop", "pet_shop"),
    ("moveis_escritorio", "office_furniture"), ("market_place", "market_place"),
    ("eletronicos", "electronics"), ("eletrodomesticos", "home_appliances"),
    ("artigos_de_festas", "party_supplies"), ("casa_conforto", "home_confort"),
    ("construcao_ferramentas_ferramentas", "costruction_tools_tools"),
    ("agro_industria_e_comercio", "agro_industry_and_commerce"),
    ("moveis_colchao_e_estofado", "furniture_mattress_and_upholstery"),
    ("livros_tecnicos", "books_technical"), ("casa_construcao", "home_construction"),
    ("instrumentos_musicais", "musical_instruments"), ("moveis_sala", "furniture_living_room"),
    ("construcao_ferramentas_iluminacao", "construction_tools_lights"),
    ("industria_comercio_e_negocios", "industry_commerce_and_business"), ("alimentos", "food"),
    ("artes", "art"), ("moveis_quarto", "furniture_bedroom"),
    ("livros_interesse_geral", "books_general_interest"),
    ("construcao_ferramentas_seguranca", "construction_tools_safety"),
    ("fashion_underwear_e_moda_praia", "fashion_underwear_beach"), ("fashion_esporte", "fashion_sport"),
    ("sinalizacao_e_seguranca", "signaling_and_security"), ("pcs", "computers"),
    ("artigos_de_natal", "christmas_supplies"), ("fashion_roupa_feminina", "fashio_female_clothing"),
    ("eletrodomesticos_2", "home_appliances_2"), ("livros_importados", "books_imported"),
    ("bebidas", "drinks"), ("cine_foto", "cine_photo"), ("la_cuisine", "la_cuisine"), ("musica", "music"),
    ("casa_conforto_2", "home_comfort_2"),
    ("portateis_casa_forno_e_cafe", "small_appliances_home_oven_and_coffee"),
    ("cds_dvds_musicais", "cds_dvds_musicals"), ("dvds_blu_ray", "dvds_blu_ray"), ("flores", "flowers"),
    ("artes_e_artesanato", "arts_and_craftmanship"), ("fraldas_higiene", "diapers_and_hygiene"),
    ("fashion_roupa_infanto_juvenil", "fashion_childrens_clothes"),
    ("seguros_e_servicos", "security_and_services"),
)  # fmt: skip

# Categories that occur in products but have no translation row: a real gap joins must survive.
UNTRANSLATED_CATEGORIES: tuple[str, ...] = ("pc_gamer", "portateis_cozinha_e_preparadores_de_alimentos")

# Approximate number of real products per category; categories not listed weigh 20.
_CATEGORY_WEIGHT: dict[str, float] = {
    "cama_mesa_banho": 3029, "esporte_lazer": 2867, "moveis_decoracao": 2657, "beleza_saude": 2444,
    "utilidades_domesticas": 2335, "automotivo": 1900, "informatica_acessorios": 1639, "brinquedos": 1411,
    "relogios_presentes": 1329, "telefonia": 1134, "bebes": 919, "perfumaria": 868,
    "fashion_bolsas_e_acessorios": 849, "papelaria": 849, "cool_stuff": 789, "ferramentas_jardim": 753,
    "pet_shop": 719, "eletronicos": 517, "construcao_ferramentas_construcao": 400, "eletrodomesticos": 370,
    "malas_acessorios": 349, "consoles_games": 317, "moveis_escritorio": 309, "instrumentos_musicais": 289,
    "eletroportateis": 231, "casa_construcao": 225, "livros_interesse_geral": 216, "fashion_calcados": 173,
    "moveis_sala": 156, "climatizacao": 124, "livros_tecnicos": 123, "telefonia_fixa": 116,
    "casa_conforto": 111, "alimentos_bebidas": 104, "market_place": 104, "fashion_roupa_masculina": 95,
    "moveis_cozinha_area_de_servico_jantar_e_jardim": 94, "sinalizacao_e_seguranca": 93,
    "construcao_ferramentas_seguranca": 91, "construcao_ferramentas_jardim": 88, "alimentos": 82,
    "bebidas": 81, "construcao_ferramentas_iluminacao": 78, "agro_industria_e_comercio": 74,
    "industria_comercio_e_negocios": 68, "audio": 58, "pc_gamer": 3,
    "portateis_cozinha_e_preparadores_de_alimentos": 10, "seguros_e_servicos": 2, "cds_dvds_musicais": 1,
}  # fmt: skip
_CATEGORIES: tuple[str, ...] = tuple(name for name, _ in _TRANSLATIONS) + UNTRANSLATED_CATEGORIES


# ------------------------------------------------------------------------------- order-level facts

# Orders per purchase month, 2016-09 .. 2018-10: real growth, few in 2016, a tail after 2018-08.
_MONTH_WEIGHTS = (4, 324, 0, 1, 800, 1780, 2682, 2404, 3700, 3245, 4026, 4331, 4285, 4631, 7544, 5673,
                  7269, 6728, 7211, 6939, 6873, 6167, 6292, 6512, 16, 4)  # fmt: skip
_FIRST_PURCHASE = np.datetime64("2016-09-04", "s")
_LAST_PURCHASE = np.datetime64("2018-10-17", "s")
_HOUR_WEIGHTS = (2.4, 1.2, 0.5, 0.3, 0.2, 0.2, 0.5, 1.2, 3.0, 4.8, 6.2, 6.6,
                 6.0, 6.6, 6.7, 6.4, 6.7, 6.2, 5.8, 5.9, 6.2, 6.3, 5.8, 4.2)  # fmt: skip

_STATUSES = (
    "delivered",
    "shipped",
    "canceled",
    "unavailable",
    "invoiced",
    "processing",
    "created",
    "approved",
)
DELIVERED, SHIPPED, CANCELED, UNAVAILABLE, INVOICED, PROCESSING, CREATED, APPROVED = range(len(_STATUSES))
_STATUS_P = (96478, 1107, 625, 609, 314, 301, 5, 2)
LATE_SHARE = 0.08  # delivered after the estimated date

# Items per order (1 .. 12), mean ~1.14 like the real file.
_ITEM_COUNT_P = (90.07, 7.62, 1.34, 0.51, 0.21, 0.20, 0.02, 0.01, 0.005, 0.005, 0.003, 0.002)

# Payment plans: the payment rows an order gets.
_PAYMENT_TYPES = ("credit_card", "boleto", "voucher", "debit_card", "not_defined")
CARD, BOLETO, VOUCHER, DEBIT, NOT_DEFINED = range(len(_PAYMENT_TYPES))
PLAN_CARD, PLAN_BOLETO, PLAN_DEBIT, PLAN_VOUCHERS, PLAN_CARD_VOUCHERS, PLAN_NOT_DEFINED = range(6)
_PLAN_P = (0.7491, 0.1990, 0.0154, 0.0133, 0.0232)  # not_defined is placed by count, not drawn
# Vouchers of an order that pays with vouchers (1 .. 20), mean ~1.6.
_VOUCHERS_P = (0.76, 0.13, 0.05, 0.025, 0.012, 0.008, 0.003, 0.002, 0.002, 0.001, 0.001, 0.001, 0.001, 0.001,
               0.001, 0.001, 0.001, 0.001, 0.001, 0.001)  # fmt: skip
_INSTALLMENTS_P = (25455, 12413, 10461, 7098, 5239, 3920, 1626, 4268, 644, 5328, 23, 133, 16, 15, 74, 5,
                   8, 27, 0, 17, 3, 1, 1, 18)  # fmt: skip  # 1 .. 24 credit-card installments
_REVIEWS_PER_ORDER_P = (0.0077, 0.9867, 0.0055, 0.0001)  # 0..3 reviews per order
DISTINCT_PERSON_SHARE = 96_096 / 99_441  # customer_unique_id per customer_id
REVIEW_ID_REPEAT_SHARE = 814 / 99_224  # review rows whose id another row already has

# Review scores 1..5 overall, and the skew of orders that went wrong (late or never delivered).
_SCORE_P = np.array([11.5, 3.2, 8.2, 19.3, 57.8]) / 100
_BAD_SCORE_P = np.array([45.0, 8.0, 10.0, 12.0, 25.0]) / 100
_MESSAGE_P_BY_SCORE = np.array([0.76, 0.70, 0.55, 0.35, 0.33])  # ~59% of messages end up empty
TITLE_P_WITH_MESSAGE, TITLE_P_WITHOUT_MESSAGE = 0.22, 0.045  # ~88% of titles end up empty
PII_SHARE = 0.015  # messages carrying an e-mail, phone or CPF
LINE_BREAK_SHARE = 0.05  # multi-sentence messages split by a line break


# ----------------------------------------------------------------------------------- review texts

_SENTENCES: dict[str, tuple[str, ...]] = {
    "good": (
        "Produto excelente, chegou antes do prazo.",
        "Recomendo a loja, entrega rápida e produto de ótima qualidade.",
        "Chegou tudo certinho e bem embalado.",
        "Adorei o produto, superou minhas expectativas.",
        "Ótimo custo-benefício, comprarei novamente.",
        "A entrega foi muito rápida, parabéns à equipe.",
        "Produto conforme a descrição do anúncio.",
        "Minha filha amou o presente.",
        "Veio exatamente como na foto, estou satisfeita.",
        "Atendimento nota dez, tiraram todas as minhas dúvidas.",
        "Qualidade muito boa pelo preço que paguei.",
        'Comprei o "kit completo" e veio tudo, inclusive o brinde.',
        "Já é a terceira vez que compro nessa loja e nunca tive problema.",
        "Entrega dentro do prazo, acabamento impecável.",
        "Bem melhor do que eu esperava, recomendo!",
    ),
    "neutral": (
        "O produto é bom, mas a embalagem veio amassada.",
        "Chegou no prazo, porém a cor é um pouco diferente da foto.",
        "Razoável, esperava um acabamento melhor.",
        "Cumpre o que promete, nada além disso.",
        "A entrega demorou um pouco, mas o produto é bom.",
        "O tamanho é menor do que eu imaginava.",
        "Veio sem manual de instruções, tive que procurar na internet.",
        'O "frete grátis" acabou saindo caro no fim.',
        "Funciona, mas faz um barulho estranho.",
    ),
    "bad": (
        "Até agora não recebi o produto.",
        "Comprei dois itens e só chegou um, ninguém responde.",
        "Produto veio com defeito, quero a devolução do dinheiro.",
        "Péssimo atendimento, não recomendo.",
        'O prazo de entrega já passou e o pedido continua "em trânsito".',
        "Recebi um produto diferente do que comprei.",
        "A peça veio quebrada, embalagem péssima.",
        "Não comprem nessa loja, muito decepcionante.",
        "Paguei o boleto há semanas e o pedido não foi enviado.",
        "Solicitei o cancelamento e até hoje não tive resposta.",
        "A qualidade é muito inferior à da foto, parece falsificado.",
        "Entrega atrasada, o presente chegou depois do aniversário.",
    ),
}
_TITLES: dict[str, tuple[str, ...]] = {
    "good": ("Recomendo", "Ótimo produto", "Excelente", "super recomendo", "Muito bom", "Amei", "Perfeito",
             "Entrega rápida", "Nota 10", "bom"),
    "neutral": ("Razoável", "Bom, mas...", "mais ou menos", "Poderia ser melhor", "Ok"),
    "bad": ("Não recebi", "Péssimo", "Produto com defeito", "Não recomendo", "Decepcionado",
            "Atraso na entrega", "produto errado"),
}  # fmt: skip
_SENTIMENT_BY_SCORE = ("bad", "bad", "neutral", "good", "good")
NO_PII, PII_EMAIL, PII_PHONE, PII_CPF = range(4)
_LINE_BREAKS = (" ", "\n", "\r\n")  # between a message's first two sentences: none, LF, CRLF
NO_BREAK, LF, CRLF = range(len(_LINE_BREAKS))
_FORCED_TEXT_QUIRKS = (
    (PII_EMAIL, NO_BREAK),
    (PII_PHONE, NO_BREAK),
    (PII_CPF, NO_BREAK),
    (NO_PII, LF),
    (NO_PII, CRLF),
)
_PII_TEMPLATES: dict[int, tuple[str, ...]] = {
    PII_EMAIL: ("Meu e-mail para contato é {}.", "Podem responder em {}"),
    PII_PHONE: ("Por favor me liguem no {}.", "Meu whatsapp é {}"),
    PII_CPF: ("O pedido está no meu CPF {}.", "CPF do comprador: {}"),
}
_FIRST_NAMES = (
    "maria",
    "joao",
    "ana",
    "jose",
    "francisca",
    "carlos",
    "paulo",
    "luciana",
    "fernanda",
    "rafael",
)
_LAST_NAMES = ("silva", "santos", "oliveira", "souza", "lima", "pereira", "costa", "rodrigues", "almeida")
_MAIL_DOMAINS = ("gmail.com", "hotmail.com", "yahoo.com.br", "outlook.com", "uol.com.br", "bol.com.br")
_AREA_CODES = ("11", "21", "31", "41", "51", "61", "71", "81", "85", "27", "48", "62")


# ------------------------------------------------------------------------------------------ public API


def generate_olist(
    out_dir: Path, *, scale: float, seed: int, progress: Progress | None = None
) -> dict[str, int]:
    """Write the nine files into out_dir; return rows written per table name (OlistTable.table).

    scale=1 gives the real row counts (the translation file always has its 71 rows); counts scale linearly
    with small minimums. Same (scale, seed), same bytes. The files appear at out_dir only once all are
    complete: they are written into a hidden sibling directory that is then renamed.
    """
    out_dir = Path(out_dir)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    _refuse_existing(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        rows = _write_dataset(staging, _Plan.for_scale(scale), seed, progress)
        _refuse_existing(out_dir)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync_directory(out_dir.parent)
    return rows


def _refuse_existing(out_dir: Path) -> None:
    if out_dir.exists():
        raise FileExistsError(
            f"{out_dir} already exists; the Olist generator never overwrites a directory: "
            "remove it or choose another output directory"
        )


@dataclass(frozen=True)
class _Plan:
    """Target sizes for one scale; items, payments and reviews follow from per-order draws."""

    orders: int
    products: int
    sellers: int
    zip_prefixes: int
    geolocation: int
    products_without_category: int
    products_without_dimensions: int
    not_defined_payments: int
    zero_installments: int

    @classmethod
    def for_scale(cls, scale: float) -> _Plan:
        def scaled(real: int, minimum: int) -> int:
            return max(minimum, round(real * scale))

        return cls(
            orders=scaled(ORDERS.real_rows, 30),
            products=scaled(PRODUCTS.real_rows, 30),
            sellers=scaled(SELLERS.real_rows, 5),
            zip_prefixes=scaled(19_015, 60),
            geolocation=scaled(GEOLOCATION.real_rows, 200),
            # Rare quirks keep at least one row at any scale so that small test runs still meet them.
            products_without_category=scaled(610, 1),
            products_without_dimensions=scaled(2, 1),
            not_defined_payments=scaled(3, 1),
            zero_installments=scaled(2, 1),
        )


def _rng(seed: int, stream: int, index: int = 0) -> np.random.Generator:
    """An independent generator per (seed, stream, chunk): parts never shift each other's draws."""
    return np.random.default_rng(np.random.SeedSequence([int(seed < 0), abs(seed), stream, index]))


STREAM_PLACES, STREAM_SELLERS, STREAM_PRODUCTS, STREAM_ORDERS, STREAM_GEOLOCATION = range(5)


def _write_dataset(directory: Path, plan: _Plan, seed: int, progress: Progress | None) -> dict[str, int]:
    world = _World.build(plan, seed)
    with ExitStack() as stack:
        sinks = {t.table: stack.enter_context(_CsvSink(directory, t, progress)) for t in _WRITE_ORDER}
        sinks[CATEGORY_TRANSLATION.table].write(_translation_columns())
        sinks[SELLERS.table].write(_seller_columns(world))
        sinks[PRODUCTS.table].write(_product_columns(world.products))
        chunk_sizes = [min(ORDER_CHUNK, plan.orders - start) for start in range(0, plan.orders, ORDER_CHUNK)]
        # Each chunk's first items sell its share of a product permutation: every product is sold somewhere.
        unsold = _rng(seed, STREAM_PRODUCTS, 1).permutation(plan.products)
        quotas = np.cumsum([0, *_allocate(plan.products, chunk_sizes)])
        for index, size in enumerate(chunk_sizes):
            chunk = _OrderChunk.generate(
                _rng(seed, STREAM_ORDERS, index), plan, world, size,
                first=index == 0, unsold=unsold[quotas[index] : quotas[index + 1]],
            )  # fmt: skip
            for table, columns in chunk.columns(world).items():
                sinks[table].write(columns)
        for columns in _geolocation_chunks(_rng(seed, STREAM_GEOLOCATION), world.places, plan.geolocation):
            sinks[GEOLOCATION.table].write(columns)
        return {table: sink.rows for table, sink in sinks.items()}


_WRITE_ORDER = (CATEGORY_TRANSLATION, SELLERS, PRODUCTS, ORDERS, CUSTOMERS, ORDER_ITEMS, ORDER_PAYMENTS,
                ORDER_REVIEWS, GEOLOCATION)  # fmt: skip


# -------------------------------------------------------------------------------------------- world


@dataclass(frozen=True)
class _Places:
    """The zip prefixes that exist: state, city, centre and how busy each one is."""

    zip_prefix: IntArray  # sorted within each state
    state: IntArray  # index into BRAZILIAN_STATES
    city: IntArray  # index into _CITIES
    lat: FloatArray
    lng: FloatArray
    popularity: FloatArray
    geocoded: BoolArray  # a few zips used by customers are missing from geolocation, as in the real data

    def zip_distribution(self, state_share: Sequence[float]) -> FloatArray:
        """Probability of each zip when states are drawn by state_share and zips by popularity within."""
        per_state = np.bincount(self.state, weights=self.popularity, minlength=len(BRAZILIAN_STATES))
        p = np.asarray(state_share)[self.state] * self.popularity / per_state[self.state]
        return p / p.sum()

    def zip_text(self) -> list[str]:
        return [f"{z:05d}" for z in self.zip_prefix.tolist()]


def _build_places(rng: np.random.Generator, n_zips: int) -> _Places:
    zips, states, cities = [], [], []
    for s, code in enumerate(BRAZILIAN_STATES):
        state = _STATES[code]
        first, last = state.zip_range
        n = min(last - first + 1, max(2, round(n_zips * state.customer_share / 100)))
        zips.append(np.sort(rng.choice(last - first + 1, size=n, replace=False)) + first)
        states.append(np.full(n, s))
        # Contiguous blocks of zips per city, the capital first, like real CEP ranges.
        counts = _allocate(n, [c.weight for c in state.cities])
        cities.append(np.repeat(np.arange(len(state.cities)) + _CITY_OFFSET[s], counts))
    city = np.concatenate(cities)
    n_total = len(city)
    popularity = rng.lognormal(0.0, 1.0, n_total)
    geocoded = rng.random(n_total) >= 0.01
    popularity[~geocoded] *= 0.3
    return _Places(
        zip_prefix=np.concatenate(zips),
        state=np.concatenate(states),
        city=city,
        lat=np.array([c.lat for c in _CITIES])[city] + rng.normal(0.0, 0.04, n_total),
        lng=np.array([c.lng for c in _CITIES])[city] + rng.normal(0.0, 0.04, n_total),
        popularity=popularity,
        geocoded=geocoded,
    )


@dataclass(frozen=True)
class _Sellers:
    ids: list[str]
    zip_index: IntArray
    popularity: FloatArray


def _build_sellers(rng: np.random.Generator, places: _Places, n: int) -> _Sellers:
    shares = [_STATES[code].seller_share for code in BRAZILIAN_STATES]
    zip_index = _choice(rng, places.zip_distribution(shares), n)
    return _Sellers(ids=_hex_ids(rng, n), zip_index=zip_index, popularity=rng.lognormal(0.0, 1.2, n))


@dataclass(frozen=True)
class _Products:
    ids: list[str]
    category: IntArray  # index into _CATEGORIES, -1 when empty
    name_length: IntArray
    description_length: IntArray
    photos: IntArray
    weight_g: IntArray
    length_cm: IntArray
    height_cm: IntArray
    width_cm: IntArray
    has_dimensions: BoolArray
    seller: IntArray
    price_cents: IntArray
    popularity: FloatArray


def _build_products(rng: np.random.Generator, plan: _Plan, sellers: _Sellers) -> _Products:
    n = plan.products
    weights = np.array([_CATEGORY_WEIGHT.get(c, 20.0) for c in _CATEGORIES])
    forced = [_CATEGORIES.index(c) for c in UNTRANSLATED_CATEGORIES] + [-1] * plan.products_without_category
    drawn = _choice(rng, weights, n - len(forced))
    category = rng.permutation(np.concatenate([forced, drawn]))
    has_dimensions = np.ones(n, dtype=bool)
    has_dimensions[rng.choice(n, size=plan.products_without_dimensions, replace=False)] = False
    # Every seller gets at least one product, like the real file (products and sellers all sold something).
    seller = _choice(rng, sellers.popularity, n)
    seller[: min(n, len(sellers.ids))] = rng.permutation(len(sellers.ids))[:n]
    return _Products(
        ids=_hex_ids(rng, n),
        category=category,
        name_length=np.clip(rng.normal(48, 10, n), 5, 76).astype(np.int64),
        description_length=np.clip(rng.lognormal(np.log(600), 0.8, n), 4, 3992).astype(np.int64),
        photos=np.minimum(rng.geometric(0.5, n), 20),
        weight_g=np.clip(rng.lognormal(np.log(700), 1.2, n), 50, 40425).astype(np.int64),
        length_cm=np.clip(rng.lognormal(np.log(25), 0.5, n), 7, 105).astype(np.int64),
        height_cm=np.clip(rng.lognormal(np.log(13), 0.7, n), 2, 105).astype(np.int64),
        width_cm=np.clip(rng.lognormal(np.log(20), 0.45, n), 6, 118).astype(np.int64),
        has_dimensions=has_dimensions,
        seller=seller,
        price_cents=_shop_prices(rng, n),
        popularity=rng.lognormal(0.0, 1.3, n),
    )


@dataclass(frozen=True)
class _World:
    """What orders draw from: places, sellers and products (small: memory grows with scale, gently)."""

    places: _Places
    sellers: _Sellers
    products: _Products

    @classmethod
    def build(cls, plan: _Plan, seed: int) -> _World:
        places = _build_places(_rng(seed, STREAM_PLACES), plan.zip_prefixes)
        sellers = _build_sellers(_rng(seed, STREAM_SELLERS), places, plan.sellers)
        return cls(places, sellers, _build_products(_rng(seed, STREAM_PRODUCTS), plan, sellers))


def _shop_prices(rng: np.random.Generator, n: int) -> IntArray:
    """Prices in cents, skewed (median ~75 BRL) and mostly ending like shop prices: ,90 ,99 ,00."""
    reais = np.clip(rng.lognormal(np.log(75), 0.9, n), 1, 6700).astype(np.int64)
    endings = rng.choice(np.array([90, 99, 0, -1]), size=n, p=[0.4, 0.25, 0.15, 0.2])
    cents = np.where(endings < 0, rng.integers(0, 100, n), endings)
    return reais * 100 + cents


# ------------------------------------------------------------------------------------------- orders


@dataclass(frozen=True)
class _OrderChunk:
    """One chunk of orders with their customers, items, payments and reviews, all consistent."""

    order_ids: list[str]
    customer_ids: list[str]
    person_ids: list[str]
    customer_zip: IntArray
    status: IntArray
    purchase: IntArray
    approved: IntArray
    carrier: IntArray
    delivered: IntArray
    estimated: IntArray
    items: _Items
    payments: _Payments
    reviews: _Reviews

    @classmethod
    def generate(
        cls, rng: np.random.Generator, plan: _Plan, world: _World, n: int, *, first: bool, unsold: IntArray
    ) -> _OrderChunk:
        """Draw n orders. The first chunk also carries the rare quirks that must exist at any scale."""
        customer_zip, person_of_order, n_persons = _customers(rng, world.places, n, first=first)
        status = _choice(rng, _STATUS_P, n)
        plan_of_order = _choice(rng, _PLAN_P, n)
        if first:  # real not_defined payments belong to canceled orders that paid nothing
            not_defined = rng.choice(n, size=min(n, plan.not_defined_payments), replace=False)
            plan_of_order[not_defined] = PLAN_NOT_DEFINED
            status[not_defined] = CANCELED
        purchase, approved = _purchase_and_approval(rng, plan_of_order)
        item_count = _item_counts(rng, status, plan_of_order)
        known_approved = _known_approval(rng, status)
        dated = {"purchase": purchase, "approved": np.where(known_approved, approved, MISSING)}
        items = _Items.generate(rng, world, item_count, customer_zip, dated, unsold)
        route_km = _route_km(world, items, customer_zip, n)
        timeline = _timeline(rng, status, purchase, approved, known_approved, route_km)
        payments = _Payments.generate(
            rng, plan_of_order, items.order_totals(n), plan.zero_installments, first=first
        )
        went_wrong = (status != DELIVERED) | (timeline["delivered"] > timeline["estimated"])
        reviews = _Reviews.generate(rng, timeline, went_wrong, first=first)
        persons = _hex_ids(rng, n_persons)
        return cls(
            order_ids=_hex_ids(rng, n),
            customer_ids=_hex_ids(rng, n),
            person_ids=[persons[p] for p in person_of_order.tolist()],
            customer_zip=customer_zip,
            status=status,
            items=items,
            payments=payments,
            reviews=reviews,
            **timeline,
        )

    def columns(self, world: _World) -> dict[str, list[list[str]]]:
        """Render every table of the chunk as CSV-ready columns (quoted, formatted)."""
        places = world.places
        order_ids = _text_column(self.order_ids)
        customer_ids = _text_column(self.customer_ids)
        return {
            ORDERS.table: [
                order_ids,
                customer_ids,
                _coded_column(self.status, _STATUSES),
                *(_timestamp_column(t) for t in (self.purchase, self.approved, self.carrier, self.delivered)),
                _timestamp_column(self.estimated),
            ],
            CUSTOMERS.table: [
                customer_ids,
                _text_column(self.person_ids),
                _coded_column(self.customer_zip, places.zip_text()),
                _coded_column(places.city[self.customer_zip], [c.name for c in _CITIES]),
                _coded_column(places.state[self.customer_zip], BRAZILIAN_STATES),
            ],
            ORDER_ITEMS.table: self.items.columns(order_ids, world),
            ORDER_PAYMENTS.table: self.payments.columns(order_ids),
            ORDER_REVIEWS.table: self.reviews.columns(order_ids),
        }


def _customers(
    rng: np.random.Generator, places: _Places, n: int, *, first: bool
) -> tuple[IntArray, IntArray, int]:
    """Zip per order and the person behind it: ~3.4% of orders come from a person who ordered before."""
    n_persons = max(1, round(n * DISTINCT_PERSON_SHARE))
    shares = [_STATES[code].customer_share for code in BRAZILIAN_STATES]
    person_zip = _choice(rng, places.zip_distribution(shares), n_persons)
    if first:  # every state is present, even at tiny scales
        for s in range(min(n_persons, len(BRAZILIAN_STATES))):
            person_zip[s] = rng.choice(np.flatnonzero(places.state == s))
    returning = rng.integers(0, n_persons, size=n - n_persons)
    person_of_order = rng.permutation(np.concatenate([np.arange(n_persons), returning]))
    return person_zip[person_of_order], person_of_order, n_persons


def _purchase_times(rng: np.random.Generator, n: int) -> IntArray:
    months = np.arange(np.datetime64("2016-09"), np.datetime64("2018-11"), dtype="datetime64[M]")
    starts = np.maximum(months.astype("datetime64[s]"), _FIRST_PURCHASE).astype(np.int64)
    ends = np.minimum((months + 1).astype("datetime64[s]"), _LAST_PURCHASE).astype(np.int64)
    month = _choice(rng, _MONTH_WEIGHTS, n)
    days = (ends[month] - starts[month]) // DAY
    hour = _choice(rng, _HOUR_WEIGHTS, n)
    return (
        starts[month] + (rng.random(n) * days).astype(np.int64) * DAY + hour * HOUR + rng.integers(0, HOUR, n)
    )


# Delivery time grows with the distance between the seller and the customer, as in the real data, where
# the median by route (seller state -> customer state) runs from under a week inside Sao Paulo to about four
# weeks to the far north, around a median of ~10 days and a long right tail (p90 ~23 days). Measured on the
# generated scale 0.1, seed 7: median 9.2 days, mean 12.0, p90 22.8, 8.5 % late; route medians 5.9 (SP->SP)
# to 28 days, late share by route 0 to 30 %.
# Days from purchase to delivery: lognormal around DELIVERY_BASE_DAYS + km / DELIVERY_KM_PER_DAY.
DELIVERY_BASE_DAYS = 5.5
DELIVERY_KM_PER_DAY = 130.0
DELIVERY_SPREAD = 0.55  # sigma of the log: p90 ~2 x the route's median
# Olist's estimate is generous but grows less than the real time on long routes, so the share of late
# deliveries grows with distance (a few % inside a state, ~20 % to the far north; ~8 % overall).
ESTIMATE_BASE_DAYS = 8.5
ESTIMATE_FACTOR = 1.3
NO_ROUTE_KM = 400.0  # orders without items (never shipped): a typical route, only for the virtual stamps
EARTH_KM = 6371.0


def _purchase_and_approval(rng: np.random.Generator, plan_of_order: IntArray) -> tuple[IntArray, IntArray]:
    """Purchase time and (virtual) approval: boleto takes days to clear, cards minutes."""
    n = len(plan_of_order)
    purchase = _purchase_times(rng, n)
    boleto = plan_of_order == PLAN_BOLETO
    quick = np.where(rng.random(n) < 0.85, 60 + rng.exponential(1200, n), rng.uniform(HOUR, 30 * HOUR, n))
    approve_lag = np.where(boleto, rng.uniform(0.5 * DAY, 3.5 * DAY, n), quick).astype(np.int64)
    return purchase, purchase + approve_lag


def _known_approval(rng: np.random.Generator, status: IntArray) -> BoolArray:
    """Whether the approval stamp is filled: never for created orders, for ~77 % of canceled ones."""
    n = len(status)
    return ~np.isin(status, [CREATED, CANCELED]) | ((status == CANCELED) & (rng.random(n) < 0.77))


def _route_km(world: _World, items: _Items, customer_zip: IntArray, n: int) -> FloatArray:
    """Great-circle km from the seller of each order's first item to the customer (zip centres)."""
    places = world.places
    first = items.item_number == 1
    seller_zip = np.zeros(n, dtype=np.int64)
    has_items = np.zeros(n, dtype=bool)
    seller_zip[items.order[first]] = world.sellers.zip_index[world.products.seller[items.product[first]]]
    has_items[items.order[first]] = True
    lat1, lng1 = np.radians(places.lat[seller_zip]), np.radians(places.lng[seller_zip])
    lat2, lng2 = np.radians(places.lat[customer_zip]), np.radians(places.lng[customer_zip])
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lng2 - lng1) / 2) ** 2
    km = 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return np.where(has_items, km, NO_ROUTE_KM)


def _timeline(
    rng: np.random.Generator,
    status: IntArray,
    purchase: IntArray,
    approved: IntArray,
    known_approved: BoolArray,
    route_km: FloatArray,
) -> dict[str, IntArray]:
    """Order timestamps: purchase <= approved <= carrier <= delivered for most, with realistic mess.

    Every order gets a full virtual timeline first; the status then decides which stamps are known.
    """
    n = len(status)
    route_days = DELIVERY_BASE_DAYS + route_km / DELIVERY_KM_PER_DAY
    days = route_days * rng.lognormal(0.0, DELIVERY_SPREAD, n)
    delivered = np.maximum(purchase + (days * DAY).astype(np.int64), approved + 6 * HOUR)
    estimate_days = ESTIMATE_BASE_DAYS + ESTIMATE_FACTOR * route_days * rng.lognormal(0.0, 0.15, n)
    estimated = purchase // DAY * DAY + np.clip(np.rint(estimate_days), 3, 90).astype(np.int64) * DAY
    carrier = approved + (rng.beta(1.5, 4.0, n) * (delivered - approved)).astype(np.int64)
    # Anomalies of the real data: carrier pick-up before approval, delivery before pick-up.
    picked_before_approval = rng.random(n) < 0.014
    carrier[picked_before_approval] = (
        purchase[picked_before_approval]
        + (rng.random(n) * (approved - purchase)).astype(np.int64)[picked_before_approval]
    )
    delivered_before_pickup = rng.random(n) < 0.002
    carrier[delivered_before_pickup] = (
        delivered[delivered_before_pickup] + rng.integers(HOUR, 3 * DAY, n)[delivered_before_pickup]
    )

    known_carrier = np.isin(status, [DELIVERED, SHIPPED]) | ((status == CANCELED) & (rng.random(n) < 0.12))
    known_delivered = ((status == DELIVERED) & (rng.random(n) >= 0.0002)) | (
        (status == CANCELED) & known_carrier & (rng.random(n) < 0.05)
    )
    return {
        "purchase": purchase,
        "approved": np.where(known_approved, approved, MISSING),
        "carrier": np.where(known_carrier & known_approved, carrier, MISSING),
        "delivered": np.where(known_delivered & known_carrier & known_approved, delivered, MISSING),
        "estimated": estimated,
    }


def _item_counts(rng: np.random.Generator, status: IntArray, plan_of_order: IntArray) -> IntArray:
    """Items per order; unavailable, created and some canceled orders have none, as in the real file."""
    counts = 1 + _choice(rng, _ITEM_COUNT_P, len(status))
    empty = np.isin(status, [UNAVAILABLE, CREATED]) | (plan_of_order == PLAN_NOT_DEFINED)
    empty |= (status == CANCELED) & (rng.random(len(status)) < 0.26)
    return np.where(empty, 0, counts)


def _ragged(counts: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """For groups of given sizes laid end to end: owner of each row, its position, each group's start."""
    starts = np.cumsum(counts) - counts
    owner = np.repeat(np.arange(len(counts)), counts)
    return owner, np.arange(len(owner)) - starts[owner], starts


@dataclass(frozen=True)
class _Items:
    order: IntArray  # index of the order in the chunk
    item_number: IntArray  # 1..n within the order
    product: IntArray
    shipping_limit: IntArray
    price_cents: IntArray
    freight_cents: IntArray

    @classmethod
    def generate(
        cls, rng: np.random.Generator, world: _World, counts: IntArray, customer_zip: IntArray,
        timeline: dict[str, IntArray], unsold: IntArray,
    ) -> _Items:  # fmt: skip
        products = world.products
        owner, position, starts = _ragged(counts)
        product = _choice(rng, products.popularity, len(owner))
        # The first items take the products not sold yet, so every product is sold somewhere.
        first_items = np.flatnonzero(position == 0)[: len(unsold)]
        product[first_items] = unsold[: len(first_items)]
        price = products.price_cents[product]
        varied = rng.random(len(owner)) < 0.1
        price[varied] = np.rint(price[varied] * rng.uniform(0.85, 1.15, varied.sum()))
        # Half the multi-item orders are several units of one product (same seller, same price).
        repeat = (position > 0) & (rng.random(len(counts)) < 0.55)[owner]
        product[repeat] = product[starts[owner[repeat]]]
        price[repeat] = price[starts[owner[repeat]]]
        seller_state = world.places.state[world.sellers.zip_index[products.seller[product]]]
        same_state = seller_state == world.places.state[customer_zip[owner]]
        return cls(
            order=owner,
            item_number=position + 1,
            product=product,
            shipping_limit=_shipping_limits(rng, timeline, owner),
            price_cents=price,
            freight_cents=_freights(rng, products, product, same_state, owner, len(counts)),
        )

    def order_totals(self, n_orders: int) -> IntArray:
        cents = self.price_cents + self.freight_cents
        return np.rint(np.bincount(self.order, weights=cents, minlength=n_orders)).astype(np.int64)

    def columns(self, order_ids: list[str], world: _World) -> list[list[str]]:
        return [
            [order_ids[o] for o in self.order.tolist()],
            _int_column(self.item_number),
            _coded_column(self.product, world.products.ids),
            _coded_column(world.products.seller[self.product], world.sellers.ids),
            _timestamp_column(self.shipping_limit),
            _money_column(self.price_cents),
            _money_column(self.freight_cents),
        ]


def _shipping_limits(rng: np.random.Generator, timeline: dict[str, IntArray], owner: IntArray) -> IntArray:
    """The seller's deadline: a few days after approval (after purchase when never approved)."""
    approved = timeline["approved"]
    base = np.where(approved != MISSING, approved, timeline["purchase"])
    return (base + rng.integers(3, 9, len(base)) * DAY)[owner]


def _freights(
    rng: np.random.Generator, products: _Products, product: IntArray, same_state: BoolArray,
    owner: IntArray, n_orders: int,
) -> IntArray:  # fmt: skip
    """Freight per item in cents: grows with weight and distance (median ~16 BRL); free for a few orders."""
    weight_kg = np.where(products.has_dimensions, products.weight_g, 500)[product] / 1000
    noise = rng.lognormal(0.0, 0.3, n_orders)
    free = rng.random(n_orders) < 0.0035
    reais = (10 + 2.4 * weight_kg**0.8) * np.where(same_state, 1.0, 1.6) * noise[owner]
    return np.where(free[owner], 0, np.rint(reais * 100)).astype(np.int64)


@dataclass(frozen=True)
class _Payments:
    order: IntArray
    sequential: IntArray
    kind: IntArray  # index into _PAYMENT_TYPES
    installments: IntArray
    value_cents: IntArray

    @classmethod
    def generate(
        cls, rng: np.random.Generator, plan_of_order: IntArray, item_totals: IntArray,
        zero_installments: int, *, first: bool,
    ) -> _Payments:  # fmt: skip
        """Split what each order owes over its payment rows, to the cent.

        Orders without items still paid something, and a few card payments carry interest: those are the
        orders whose payments do not match their items (about 1.5%, as in the real data).
        """
        n = len(plan_of_order)
        vouchers = 1 + _choice(rng, _VOUCHERS_P, n)
        rows = np.select([plan_of_order == PLAN_VOUCHERS, plan_of_order == PLAN_CARD_VOUCHERS],
                         [vouchers, vouchers + 1], 1)  # fmt: skip
        owner, position, _ = _ragged(rows)
        plan = plan_of_order[owner]
        card_first = (plan == PLAN_CARD_VOUCHERS) & (position == 0)
        kind = np.select(
            [
                (plan == PLAN_CARD) | card_first,
                plan == PLAN_BOLETO,
                plan == PLAN_DEBIT,
                plan == PLAN_NOT_DEFINED,
            ],
            [CARD, BOLETO, DEBIT, NOT_DEFINED],
            VOUCHER,
        )
        last = position == rows[owner] - 1
        share = rng.gamma(2.0, 1.0, len(owner)) * np.where(card_first, 4.0, 1.0)
        share[(kind == VOUCHER) & ~last & (rng.random(len(owner)) < 0.004)] = 0.0  # vouchers worth nothing
        share /= np.bincount(owner, weights=share, minlength=n)[owner]
        owed = _amounts_owed(rng, plan_of_order, item_totals)
        value = np.floor(owed[owner] * share).astype(np.int64)
        value[last] = owed - (
            np.rint(np.bincount(owner, weights=value, minlength=n)).astype(np.int64) - value[last]
        )
        installments = np.where(kind == CARD, 1 + _choice(rng, _INSTALLMENTS_P, len(owner)), 1)
        if first:
            cards = np.flatnonzero(kind == CARD)
            installments[rng.choice(cards, size=min(len(cards), zero_installments), replace=False)] = 0
        return cls(owner, position + 1, kind, installments, value)

    def columns(self, order_ids: list[str]) -> list[list[str]]:
        return [
            [order_ids[o] for o in self.order.tolist()],
            _int_column(self.sequential),
            _coded_column(self.kind, _PAYMENT_TYPES),
            _int_column(self.installments),
            _money_column(self.value_cents),
        ]


def _amounts_owed(rng: np.random.Generator, plan_of_order: IntArray, item_totals: IntArray) -> IntArray:
    n = len(plan_of_order)
    never_shipped = np.rint(rng.lognormal(np.log(10_000), 0.8, n)).astype(np.int64)
    owed = np.where(item_totals == 0, never_shipped, item_totals)
    card = np.isin(plan_of_order, [PLAN_CARD, PLAN_CARD_VOUCHERS])
    interest = card & (rng.random(n) < 0.012)
    owed = np.where(interest, np.rint(owed * rng.uniform(1.01, 1.12, n)).astype(np.int64), owed)
    return np.where(plan_of_order == PLAN_NOT_DEFINED, 0, owed)


@dataclass(frozen=True)
class _Reviews:
    ids: list[str]
    order: IntArray
    score: IntArray  # 1..5
    titles: list[str]
    messages: list[str]
    created: IntArray
    answered: IntArray

    @classmethod
    def generate(
        cls, rng: np.random.Generator, timeline: dict[str, IntArray], went_wrong: BoolArray, *, first: bool
    ) -> _Reviews:
        """About one review per order (a few none, a few two); orders that went wrong score lower."""
        count = _choice(rng, _REVIEWS_PER_ORDER_P, len(went_wrong))
        owner, position, _ = _ragged(count)
        m = len(owner)
        score = 1 + np.where(went_wrong[owner], _choice(rng, _BAD_SCORE_P, m), _choice(rng, _GOOD_SCORE_P, m))
        delivered = timeline["delivered"][owner]
        seen = np.where(delivered != MISSING, delivered, timeline["estimated"][owner])
        created = (seen // DAY + rng.geometric(0.6, m) + position * rng.integers(1, 10, m)) * DAY
        answered = created + HOUR + rng.exponential(2.5 * DAY, m).astype(np.int64)
        n_forced = len(_FORCED_TEXT_QUIRKS) if first else 0
        targets, sources, forced = _review_repeats(rng, seen, owner, n_forced)
        titles, messages = _review_texts(rng, score, forced)
        ids = _hex_ids(rng, m)
        for target, source in zip(targets.tolist(), sources.tolist(), strict=True):
            ids[target], titles[target], messages[target] = ids[source], titles[source], messages[source]
        score[targets] = score[sources]
        # One review for both orders: dated after the later of the two deliveries.
        for stamps in (created, answered):
            stamps[targets] = stamps[sources] = np.maximum(stamps[targets], stamps[sources])
        return cls(ids, owner, score, titles, messages, created, answered)

    def columns(self, order_ids: list[str]) -> list[list[str]]:
        return [
            _text_column(self.ids),
            [order_ids[o] for o in self.order.tolist()],
            _int_column(self.score),
            _text_column(self.titles),
            _text_column(self.messages),
            _timestamp_column(self.created),
            _timestamp_column(self.answered),
        ]


def _review_repeats(
    rng: np.random.Generator, seen: IntArray, owner: IntArray, n_forced: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Rows whose review is copied (target <- source), and rows kept apart for the forced text quirks.

    In the real file a review id repeats when one review covers several orders bought together; pairs
    are therefore neighbours in delivery time, from different orders. Forced rows are never in a pair,
    so no copy overwrites them.
    """
    m = len(owner)
    pairs = np.argsort(seen, kind="stable")[: m - m % 2].reshape(-1, 2)
    n_repeats = min(max(1, round(m * REVIEW_ID_REPEAT_SHARE)), (m - n_forced) // 2, len(pairs))
    chosen = pairs[rng.choice(len(pairs), size=n_repeats, replace=False)]
    chosen = chosen[owner[chosen[:, 0]] != owner[chosen[:, 1]]]
    free = np.setdiff1d(np.arange(m), chosen.ravel())
    forced = rng.choice(free, size=min(n_forced, len(free)), replace=False)
    return chosen[:, 0], chosen[:, 1], forced


def _good_score_p() -> FloatArray:
    """Scores for orders that went fine, such that the mix with _BAD_SCORE_P gives _SCORE_P overall."""
    wrong = 1 - _STATUS_P[DELIVERED] / sum(_STATUS_P) * (1 - LATE_SHARE)  # late or never delivered
    p = np.clip((_SCORE_P - wrong * _BAD_SCORE_P) / (1 - wrong), 0.0, None)
    return p / p.sum()


_GOOD_SCORE_P = _good_score_p()


def _review_texts(rng: np.random.Generator, score: IntArray, forced: IntArray) -> tuple[list[str], list[str]]:
    """Titles and messages: mostly empty; otherwise Portuguese with accents, commas, quotes, line breaks
    and, now and then, PII (e-mail, phone, CPF) that masking must find.

    The rows in forced carry one each of _FORCED_TEXT_QUIRKS, so tiny scales still show every quirk.
    """
    m = len(score)
    has_message = rng.random(m) < _MESSAGE_P_BY_SCORE[score - 1]
    has_title = rng.random(m) < np.where(has_message, TITLE_P_WITH_MESSAGE, TITLE_P_WITHOUT_MESSAGE)
    sentences = 1 + _choice(rng, (0.55, 0.35, 0.10), m)
    picks = rng.integers(0, 1 << 30, (m, 4))
    breaks = _choice(rng, (1 - LINE_BREAK_SHARE, LINE_BREAK_SHARE / 2, LINE_BREAK_SHARE / 2), m)
    pii = _choice(rng, (1 - PII_SHARE, PII_SHARE / 3, PII_SHARE / 3, PII_SHARE / 3), m)
    lower, bare = rng.random(m) < 0.25, rng.random(m) < 0.3
    has_message[forced] = True
    sentences[forced] = np.maximum(sentences[forced], 2)
    pii[forced] = [quirk for quirk, _ in _FORCED_TEXT_QUIRKS[: len(forced)]]
    breaks[forced] = [line_break for _, line_break in _FORCED_TEXT_QUIRKS[: len(forced)]]
    sentiment = [_SENTIMENT_BY_SCORE[s - 1] for s in score.tolist()]
    titles = [_pick(_TITLES[sentiment[i]], picks[i, 0]) if has_title[i] else "" for i in range(m)]
    messages = [""] * m
    for i in np.flatnonzero(has_message).tolist():
        group = _SENTENCES[sentiment[i]]
        parts = [_pick(group, p) for p in picks[i, : sentences[i]].tolist()]
        if pii[i] != NO_PII:
            parts.append(_pii_sentence(int(pii[i]), picks[i, 3]))
        text = _LINE_BREAKS[breaks[i]].join(parts[:2]) + "".join(" " + part for part in parts[2:])
        text = text.lower() if lower[i] else text
        messages[i] = text.removesuffix(".") if bare[i] else text
    return titles, messages


def _pick(options: Sequence[str], draw: int) -> str:
    return options[int(draw) % len(options)]


def _pii_sentence(kind: int, draw: int) -> str:
    """A sentence leaking one personal datum, built from one random number (deterministic per draw)."""
    draw = int(draw)
    template = _PII_TEMPLATES[kind][draw % 2]
    if kind == PII_EMAIL:
        user = f"{_pick(_FIRST_NAMES, draw >> 1)}.{_pick(_LAST_NAMES, draw >> 5)}{draw % 97}"
        return template.format(f"{user}@{_pick(_MAIL_DOMAINS, draw >> 9)}")
    if kind == PII_PHONE:
        number = f"9{draw % 10_000:04d}-{(draw >> 14) % 10_000:04d}"
        return template.format(f"({_pick(_AREA_CODES, draw >> 1)}) {number}")
    return template.format(_cpf(draw))


def _cpf(draw: int) -> str:
    """A CPF-shaped number with valid check digits (123.456.789-09), derived from draw."""
    digits = [(draw >> (3 * i)) % 10 for i in range(9)]
    for length in (9, 10):
        total = sum(d * w for d, w in zip(digits, range(length + 1, 1, -1), strict=True))
        digits.append(total * 10 % 11 % 10)
    text = "".join(map(str, digits))
    return f"{text[:3]}.{text[3:6]}.{text[6:9]}-{text[9:]}"


# -------------------------------------------------------------------------------------- geolocation


def _geolocation_chunks(rng: np.random.Generator, places: _Places, n_rows: int) -> Iterator[list[list[str]]]:
    """Many rows per geocoded zip, sorted by zip, with exact duplicates and mixed city spellings."""
    zips = np.flatnonzero(places.geocoded)
    zips = zips[np.argsort(places.zip_prefix[zips], kind="stable")]
    weights = places.popularity[zips]
    counts = 1 + rng.multinomial(max(0, n_rows - len(zips)), weights / weights.sum())
    bounds = np.searchsorted(np.cumsum(counts), np.arange(GEO_CHUNK, counts.sum(), GEO_CHUNK), side="right")
    zip_labels = places.zip_text()
    city_labels = [spelling for c in _CITIES for spelling in (c.name, c.accented or c.name)]
    for chunk in np.split(np.arange(len(zips)), bounds):
        owner, _, starts = _ragged(counts[chunk])
        zip_index = zips[chunk][owner]
        n = len(owner)
        lat = places.lat[zip_index] + rng.normal(0.0, 0.01, n)
        lng = places.lng[zip_index] + rng.normal(0.0, 0.01, n)
        accented = rng.random(n) < 0.12
        # About a quarter of the rows end up exact copies of another row of the same zip (a third are
        # drawn as copies, some of which land on themselves).
        copy = rng.random(n) < 0.34
        source = (starts[owner] + rng.random(n) * counts[chunk][owner]).astype(np.int64)[copy]
        lat[copy], lng[copy], accented[copy] = lat[source], lng[source], accented[source]
        yield [
            _coded_column(zip_index, zip_labels),
            _float_column(lat),
            _float_column(lng),
            _coded_column(places.city[zip_index] * 2 + accented, city_labels),
            _coded_column(places.state[zip_index], BRAZILIAN_STATES),
        ]


# ---------------------------------------------------------------------------------- small tables


def _translation_columns() -> list[list[str]]:
    return [_text_column(pt for pt, _ in _TRANSLATIONS), _text_column(en for _, en in _TRANSLATIONS)]


def _seller_columns(world: _World) -> list[list[str]]:
    places, zip_index = world.places, world.sellers.zip_index
    return [
        _text_column(world.sellers.ids),
        _coded_column(zip_index, places.zip_text()),
        _coded_column(places.city[zip_index], [c.name for c in _CITIES]),
        _coded_column(places.state[zip_index], BRAZILIAN_STATES),
    ]


def _product_columns(products: _Products) -> list[list[str]]:
    """Products without category also lack name, description and photo counts, like the real file."""
    named = products.category >= 0
    dims = products.has_dimensions
    return [
        _text_column(products.ids),
        _coded_column(products.category + 1, ("", *_CATEGORIES)),
        _int_column(products.name_length, named),
        _int_column(products.description_length, named),
        _int_column(products.photos, named),
        *(_int_column(v, dims) for v in (products.weight_g, products.length_cm, products.height_cm,
                                         products.width_cm)),
    ]  # fmt: skip


# ------------------------------------------------------------------------------------------ CSV


_NEEDS_QUOTES = re.compile(r'[",\r\n]')
_DIGITS = frozenset("0123456789")


def _field(value: str) -> str:
    """A text field as the real files write it: quoted when CSV needs it, and (a quirk) when it starts
    with a digit, so readers cannot rely on quoting to tell text from numbers."""
    if not value.isalnum() and _NEEDS_QUOTES.search(value):  # isalnum: a fast pass for ids
        return '"' + value.replace('"', '""') + '"'
    if value[:1] in _DIGITS:
        return f'"{value}"'
    return value


def _text_column(values: Iterable[str]) -> list[str]:
    return [_field(v) for v in values]


def _coded_column(codes: IntArray, labels: Sequence[str]) -> list[str]:
    """Render each distinct label once; the column is codes into it (cities, states, zips, ids)."""
    rendered = [_field(label) for label in labels]
    return [rendered[c] for c in codes.tolist()]


def _int_column(values: IntArray, present: BoolArray | None = None) -> list[str]:
    if present is None:
        return list(map(str, values.tolist()))
    return [str(v) if ok else "" for v, ok in zip(values.tolist(), present.tolist(), strict=True)]


def _money_column(cents: IntArray) -> list[str]:
    return [f"{c // 100}.{c % 100:02d}" for c in cents.tolist()]


def _float_column(values: FloatArray) -> list[str]:
    """Full-precision coordinates (-23.54562128115268); never scientific notation, even near 0 (Macapá)."""
    text = list(map(repr, values.tolist()))
    for i in np.flatnonzero(np.abs(values) < 1e-4).tolist():
        text[i] = np.format_float_positional(values[i], trim="-")
    return text


def _timestamp_column(seconds: IntArray) -> list[str]:
    """'YYYY-MM-DD HH:MM:SS', empty where MISSING (numpy reads that sentinel as NaT)."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").tolist()
    return ["" if t == "NaT" else t.replace("T", " ") for t in text]


class _CsvSink:
    """Appends rows to one Olist file in that file's own dialect: header quoting, BOM, line ends."""

    def __init__(self, directory: Path, table: OlistTable, progress: Progress | None) -> None:
        self._table = table
        self._progress = progress
        self._eol = "\r\n" if table in (ORDER_REVIEWS, CATEGORY_TRANSLATION) else "\n"
        self._file = (directory / table.file_name).open("w", encoding="utf-8", newline="")
        if table is CATEGORY_TRANSLATION:
            header = "\ufeff" + ",".join(table.header)
        else:
            header = ",".join(f'"{name}"' for name in table.header)
        self._file.write(header + self._eol)
        self.rows = 0

    def __enter__(self) -> _CsvSink:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self._file.flush()
            os.fsync(self._file.fileno())
        self._file.close()

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        if len(columns) != len(self._table.columns):
            raise ValueError(
                f"{self._table.file_name}: {len(columns)} columns, header has {len(self._table.columns)}"
            )
        if not columns[0]:
            return
        self._file.write(self._eol.join(map(",".join, zip(*columns, strict=True))) + self._eol)
        self.rows += len(columns[0])
        if self._progress is not None:
            self._progress(self._table.table, self.rows)


# -------------------------------------------------------------------------------------------- helpers


def _choice(rng: np.random.Generator, weights: Sequence[float] | FloatArray, n: int) -> IntArray:
    """n draws of an index into weights (weights need not sum to one)."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _allocate(total: int, weights: Sequence[float]) -> IntArray:
    """Split total into integer parts proportional to weights (largest remainder), summing exactly."""
    w = np.asarray(weights, dtype=float)
    exact = total * w / w.sum()
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(counts - exact, kind="stable")[: total - counts.sum()]] += 1
    return counts


def _hex_ids(rng: np.random.Generator, n: int) -> list[str]:
    """32-character lowercase hex ids, like Olist's (random 128 bits: collisions are not a concern)."""
    text = rng.bytes(16 * n).hex()
    return [text[i : i + 32] for i in range(0, 32 * n, 32)]


def _fsync_directory(path: Path) -> None:
    """Make the rename durable, so a crash right after generate_olist returns cannot undo it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
