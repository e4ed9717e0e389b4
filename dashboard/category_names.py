"""Display names of the Olist product categories in Portuguese and English.

Keyed by the name the marts and gold use as the category's stable key (`category_name_en`: the English
slug of the translation table, typos included, or the Portuguese slug for the two categories the table does
not translate, or `unknown` for products without a category). The Portuguese names are written out from
the Portuguese slugs with their accents; the English ones from the translation table, typos fixed.
"""

from __future__ import annotations

from dashboard.i18n import Language

# English key: (Portuguese, English)
CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "health_beauty": ("Beleza e saúde", "Health and beauty"),
    "computers_accessories": ("Informática e acessórios", "Computers and accessories"),
    "auto": ("Automotivo", "Auto"),
    "bed_bath_table": ("Cama, mesa e banho", "Bed, bath and table"),
    "furniture_decor": ("Móveis e decoração", "Furniture and decor"),
    "sports_leisure": ("Esporte e lazer", "Sports and leisure"),
    "perfumery": ("Perfumaria", "Perfumery"),
    "housewares": ("Utilidades domésticas", "Housewares"),
    "telephony": ("Telefonia", "Telephony"),
    "watches_gifts": ("Relógios e presentes", "Watches and gifts"),
    "food_drink": ("Alimentos e bebidas", "Food and drink"),
    "baby": ("Bebês", "Baby"),
    "stationery": ("Papelaria", "Stationery"),
    "tablets_printing_image": ("Tablets, impressão e imagem", "Tablets, printing and image"),
    "toys": ("Brinquedos", "Toys"),
    "fixed_telephony": ("Telefonia fixa", "Fixed telephony"),
    "garden_tools": ("Ferramentas de jardim", "Garden tools"),
    "fashion_bags_accessories": ("Moda: bolsas e acessórios", "Fashion: bags and accessories"),
    "small_appliances": ("Eletroportáteis", "Small appliances"),
    "consoles_games": ("Consoles e games", "Consoles and games"),
    "audio": ("Áudio", "Audio"),
    "fashion_shoes": ("Moda: calçados", "Fashion: shoes"),
    "cool_stuff": ("Coisas legais", "Cool stuff"),
    "luggage_accessories": ("Malas e acessórios", "Luggage and accessories"),
    "air_conditioning": ("Climatização", "Air conditioning"),
    "construction_tools_construction": ("Construção: ferramentas de obra", "Construction: building tools"),
    "kitchen_dining_laundry_garden_furniture": (
        "Móveis de cozinha, área de serviço, jantar e jardim",
        "Kitchen, laundry, dining and garden furniture",
    ),
    "costruction_tools_garden": ("Construção: ferramentas de jardim", "Construction: garden tools"),
    "fashion_male_clothing": ("Moda: roupa masculina", "Fashion: men's clothing"),
    "pet_shop": ("Pet shop", "Pet shop"),
    "office_furniture": ("Móveis de escritório", "Office furniture"),
    "market_place": ("Marketplace", "Marketplace"),
    "electronics": ("Eletrônicos", "Electronics"),
    "home_appliances": ("Eletrodomésticos", "Home appliances"),
    "party_supplies": ("Artigos de festas", "Party supplies"),
    "home_confort": ("Casa e conforto", "Home comfort"),
    "costruction_tools_tools": ("Construção: ferramentas", "Construction: tools"),
    "agro_industry_and_commerce": ("Agroindústria e comércio", "Agro-industry and commerce"),
    "furniture_mattress_and_upholstery": (
        "Móveis: colchão e estofado",
        "Furniture: mattresses and upholstery",
    ),
    "books_technical": ("Livros técnicos", "Technical books"),
    "home_construction": ("Casa e construção", "Home construction"),
    "musical_instruments": ("Instrumentos musicais", "Musical instruments"),
    "furniture_living_room": ("Móveis de sala", "Living-room furniture"),
    "construction_tools_lights": ("Construção: iluminação", "Construction: lighting"),
    "industry_commerce_and_business": ("Indústria, comércio e negócios", "Industry, commerce and business"),
    "food": ("Alimentos", "Food"),
    "art": ("Artes", "Art"),
    "furniture_bedroom": ("Móveis de quarto", "Bedroom furniture"),
    "books_general_interest": ("Livros de interesse geral", "General-interest books"),
    "construction_tools_safety": ("Construção: segurança", "Construction: safety"),
    "fashion_underwear_beach": ("Moda: underwear e praia", "Fashion: underwear and beachwear"),
    "fashion_sport": ("Moda: esporte", "Fashion: sportswear"),
    "signaling_and_security": ("Sinalização e segurança", "Signage and safety"),
    "computers": ("Computadores", "Computers"),
    "christmas_supplies": ("Artigos de Natal", "Christmas supplies"),
    "fashio_female_clothing": ("Moda: roupa feminina", "Fashion: women's clothing"),
    "home_appliances_2": ("Eletrodomésticos 2", "Home appliances 2"),
    "books_imported": ("Livros importados", "Imported books"),
    "drinks": ("Bebidas", "Drinks"),
    "cine_photo": ("Cinema e foto", "Cinema and photo"),
    "la_cuisine": ("La cuisine", "La cuisine"),
    "music": ("Música", "Music"),
    "home_comfort_2": ("Casa e conforto 2", "Home comfort 2"),
    "small_appliances_home_oven_and_coffee": (
        "Portáteis: forno e café",
        "Small appliances: oven and coffee",
    ),
    "cds_dvds_musicals": ("CDs e DVDs musicais", "Music CDs and DVDs"),
    "dvds_blu_ray": ("DVDs e Blu-ray", "DVDs and Blu-ray"),
    "flowers": ("Flores", "Flowers"),
    "arts_and_craftmanship": ("Artes e artesanato", "Arts and crafts"),
    "diapers_and_hygiene": ("Fraldas e higiene", "Diapers and hygiene"),
    "fashion_childrens_clothes": ("Moda: roupa infantojuvenil", "Fashion: children's clothing"),
    "security_and_services": ("Seguros e serviços", "Insurance and services"),
    # Occur in products but have no row in the translation table: the marts keep the Portuguese slug.
    "pc_gamer": ("PC gamer", "Gaming PCs"),
    "portateis_cozinha_e_preparadores_de_alimentos": (
        "Portáteis de cozinha e preparadores de alimentos",
        "Kitchen appliances and food processors",
    ),
    # Products without a category.
    "unknown": ("Sem categoria", "No category"),
}


def category_name(key: str | None, language: Language) -> str:
    """The display name of a category key; an unforeseen key is shown readable, never as a slug."""
    if key is None:
        return "—"
    names = CATEGORY_NAMES.get(key)
    if names is None:
        return key.replace("_", " ").capitalize()
    return names[0] if language == "pt" else names[1]
