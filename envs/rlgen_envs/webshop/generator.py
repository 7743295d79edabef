"""A generated shop catalog in the original's JSON layout, deterministic from a seed.

The original catalog (1.18 M scraped products, 12,087 human instructions) cannot be shipped, so
rlgen's default catalog is generated: `generate_records(seed, num_products)` writes products,
hidden attributes and human-style instructions as the original files lay them out, and
`generate_catalog` sends them through the same `build_catalog` as real files.

What makes the task real:
- 41 product types (queries) over the original's 5 categories (beauty, electronics, fashion,
  food, furniture), each with a category path, option groups (colour, size, flavour, scent,
  style, capacity, model), a pool of attributes and a price range; about 73 products a type by
  default, so a search lands among many near-identical products of the right type.
- Products of one type differ by brand, descriptor, material, attributes (3-5 of the type's pool,
  written into the bullet points and description, as the original's mined attributes are), the
  option values they offer and price.
- Instructions (0-3 a product, about 1.5 on average) name the product type, 1-3 of its attributes
  and one value of most option groups, in varied phrasings; the build appends the price bound.
  Reaching reward 1 takes a search, the right product among look-alikes, and the right options.

Title nouns are recorded in each product record (`title_nouns`: brand, material, product noun,
audience), so the type factor of the reward needs no part-of-speech tagger on generated data.
Everything is drawn from one `random.Random(seed)` in a fixed order: the same seed gives the same
bytes on every machine.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rlgen_envs.webshop.catalog import (
    ATTRIBUTE_FILE,
    HUMAN_INSTRUCTION_FILE,
    PRODUCT_FILE,
    Catalog,
    build_catalog,
)

DEFAULT_NUM_PRODUCTS = 3000
DEFAULT_SEED = 0
INSTRUCTIONS_PER_PRODUCT = (0.1, 0.4, 0.4, 0.1)  # probability of 0, 1, 2, 3 instructions

# -- option pools -------------------------------------------------------------------------------
APPAREL_COLORS = (
    "black", "white", "navy blue", "heather grey", "red", "olive green", "khaki", "burgundy",
    "light blue", "dark grey", "pink", "beige", "brown", "purple", "yellow", "teal", "charcoal",
)  # fmt: skip
WOOD_COLORS = ("walnut", "espresso", "white", "black", "natural", "grey", "rustic brown", "cherry")
GADGET_COLORS = ("black", "white", "silver", "blue", "red", "rose gold", "green", "space grey", "purple")
LIP_COLORS = ("nude", "red", "rose", "berry", "coral", "plum", "mauve", "pink", "brick", "wine")
NAIL_COLORS = ("red", "pink", "nude", "black", "white", "coral", "lilac", "teal", "gold glitter", "burgundy")
DENIM_COLORS = ("light wash", "medium wash", "dark wash", "black", "grey", "stonewash blue")
APPAREL_SIZES = ("x-small", "small", "medium", "large", "x-large", "xx-large", "3x-large")
MEN_SHOE_SIZES = ("7", "7.5", "8", "8.5", "9", "9.5", "10", "10.5", "11", "12", "13")
WOMEN_SHOE_SIZES = ("5", "5.5", "6", "6.5", "7", "7.5", "8", "8.5", "9", "10", "11")
JEAN_SIZES = ("28w x 30l", "30w x 30l", "30w x 32l", "32w x 30l", "32w x 32l", "34w x 32l", "34w x 34l", "36w x 32l", "38w x 32l")
SOCK_SIZES = ("shoe size 6-9", "shoe size 9-12", "shoe size 12-15")
LIQUID_SIZES = ("1 fl oz (pack of 1)", "3.4 fl oz (pack of 1)", "8 fl oz (pack of 1)", "12 fl oz (pack of 2)", "16 fl oz (pack of 1)", "32 fl oz (pack of 1)")
CREAM_SIZES = ("1.7 ounce", "2.5 ounce", "4 ounce", "8 ounce")
STICK_SIZES = ("2.6 ounce (pack of 1)", "2.6 ounce (pack of 2)", "3 ounce (pack of 3)", "travel size")
SNACK_SIZES = ("1 ounce (pack of 24)", "5 ounce (pack of 1)", "8 ounce (pack of 4)", "12 ounce (pack of 2)", "2 pound (pack of 1)")
BAR_SIZES = ("12 count (pack of 1)", "15 count (pack of 1)", "24 count (pack of 1)", "12 count (pack of 2)")
COFFEE_SIZES = ("12 ounce (pack of 1)", "2 pound (pack of 1)", "5 pound (pack of 1)", "12 ounce (pack of 3)")
TEA_SIZES = ("20 count (pack of 1)", "20 count (pack of 6)", "100 count (pack of 1)", "50 count (pack of 2)")
OIL_SIZES = ("16.9 fl oz (pack of 1)", "25.3 fl oz (pack of 1)", "33.8 fl oz (pack of 1)", "68 fl oz (pack of 1)", "16.9 fl oz (pack of 2)")
BED_SIZES = ("twin", "full", "queen", "king", "california king")
TIER_SIZES = ("3 tier", "4 tier", "5 tier", "6 tier")
PILLOW_SIZES = ("16 x 16 inch", "18 x 18 inch", "20 x 20 inch", "22 x 22 inch", "12 x 20 inch")
CURTAIN_SIZES = ("42 x 63 inch", "42 x 84 inch", "52 x 63 inch", "52 x 84 inch", "52 x 95 inch", "52 x 108 inch")
TOWEL_SIZES = ("2 piece set", "4 piece set", "6 piece set", "8 piece set")
CABLE_SIZES = ("3 ft", "6 ft", "10 ft", "3 ft (2 pack)", "6 ft (3 pack)")
PHONE_MODELS = ("iphone 13", "iphone 14", "iphone 14 pro max", "iphone 15", "galaxy s22", "galaxy s23 ultra", "pixel 7", "pixel 8 pro")
PROTECTOR_PACKS = ("1 pack", "2 pack", "3 pack")
CAPACITIES = ("5000mah", "10000mah", "20000mah", "26800mah")
ROASTS = ("light roast", "medium roast", "dark roast", "espresso roast")
SCENTS_HAIR = ("lavender", "unscented", "citrus", "coconut", "eucalyptus mint", "tea tree", "rosemary", "vanilla")
SCENTS_BODY = ("lavender", "unscented", "citrus", "coconut", "eucalyptus", "sandalwood", "cucumber melon", "ocean breeze")
TEA_FLAVORS = ("jasmine", "mint", "lemon", "ginger", "original", "honey", "peach")
BAR_FLAVORS = ("chocolate chip", "peanut butter", "cookies and cream", "birthday cake", "salted caramel", "almond")
CHIP_FLAVORS = ("sea salt", "barbecue", "sour cream and onion", "salt and vinegar", "jalapeno", "original")
CANDY_FLAVORS = ("assorted fruit", "sour", "watermelon", "cherry", "peach rings", "tropical")
CHOCOLATE_FLAVORS = ("sea salt", "almond", "orange", "mint", "raspberry", "caramel", "plain")
MOISTURIZER_SCENTS = ("fragrance free", "rose", "aloe", "green tea")


@dataclass(frozen=True)
class ProductType:
    category: str  # one of the original's five
    query: str  # the original's product query (search term that found it)
    noun: str  # as it appears in titles and instructions
    path: str  # category path after the root, parts joined by ' › '
    options: Mapping[str, Sequence[str]]
    attributes: Sequence[str]
    price: tuple[float, float]
    descriptors: Sequence[str]
    materials: Sequence[str]
    audience: str = ""  # "men", "women" or ""
    plural: bool = False


_ROOTS = {
    "fashion": "Clothing, Shoes & Jewelry",
    "beauty": "Beauty & Personal Care",
    "food": "Grocery & Gourmet Food",
    "furniture": "Home & Kitchen",
    "electronics": "Electronics",
}

T = ProductType
PRODUCT_TYPES: tuple[ProductType, ...] = (
    # fashion
    T("fashion", "men's t-shirt", "t-shirt", "Men › Clothing › Shirts › T-Shirts", {"color": APPAREL_COLORS, "size": APPAREL_SIZES},
      ("machine wash", "short sleeve", "long sleeve", "slim fit", "relaxed fit", "cotton spandex", "moisture wicking", "crew neck", "v neck", "quick dry"),
      (8, 35), ("graphic", "classic", "athletic", "vintage", "basic"), ("cotton", "polyester", "bamboo"), "men"),
    T("fashion", "women's dress", "dress", "Women › Clothing › Dresses › Casual", {"color": APPAREL_COLORS, "size": APPAREL_SIZES},
      ("machine wash", "short sleeve", "long sleeve", "high waist", "v neck", "elastic waist", "button closure", "hand wash", "loose fit", "knee length"),
      (18, 60), ("floral", "casual", "elegant", "summer", "wrap"), ("chiffon", "cotton", "rayon"), "women"),
    T("fashion", "men's jeans", "jeans", "Men › Clothing › Jeans", {"color": DENIM_COLORS, "size": JEAN_SIZES},
      ("machine wash", "straight leg", "slim fit", "relaxed fit", "button closure", "stretch denim", "zipper closure", "classic fit"),
      (20, 70), ("classic", "stretch", "rugged", "everyday"), ("denim", "cotton"), "men", True),
    T("fashion", "women's leggings", "leggings", "Women › Clothing › Active › Leggings", {"color": APPAREL_COLORS, "size": APPAREL_SIZES},
      ("high waist", "tummy control", "moisture wicking", "squat proof", "four way stretch", "machine wash", "butt lifting", "side pockets"),
      (12, 40), ("yoga", "workout", "seamless", "athletic"), ("nylon", "spandex", "polyester"), "women", True),
    T("fashion", "men's hoodie", "hoodie", "Men › Clothing › Fashion Hoodies & Sweatshirts", {"color": APPAREL_COLORS, "size": APPAREL_SIZES},
      ("machine wash", "long sleeve", "fleece lined", "drawstring closure", "kangaroo pocket", "relaxed fit", "zip up", "ribbed cuffs"),
      (20, 60), ("pullover", "heavyweight", "classic", "athletic"), ("cotton", "fleece", "polyester"), "men"),
    T("fashion", "men's running shoes", "running shoes", "Men › Shoes › Athletic › Running", {"color": APPAREL_COLORS, "size": MEN_SHOE_SIZES},
      ("rubber sole", "lace up", "non slip", "arch support", "memory foam", "breathable mesh", "wide width", "shock absorption"),
      (35, 120), ("road", "trail", "cushioned", "everyday"), ("mesh", "knit"), "men", True),
    T("fashion", "women's sandals", "sandals", "Women › Shoes › Sandals", {"color": APPAREL_COLORS, "size": WOMEN_SHOE_SIZES},
      ("open toe", "ankle strap", "rubber sole", "arch support", "faux leather", "non slip", "memory foam", "adjustable strap"),
      (15, 60), ("flat", "platform", "wedge", "strappy"), ("leather", "suede", "cork"), "women", True),
    T("fashion", "baseball cap", "baseball cap", "Men › Accessories › Hats & Caps › Baseball Caps", {"color": APPAREL_COLORS},
      ("adjustable strap", "hand wash", "sun protection", "breathable mesh", "curved brim", "cotton twill", "snapback closure"),
      (10, 30), ("classic", "vintage", "trucker", "washed"), ("cotton", "polyester")),
    T("fashion", "athletic socks", "socks", "Men › Clothing › Socks › Athletic", {"color": APPAREL_COLORS, "size": SOCK_SIZES},
      ("moisture wicking", "cushioned sole", "arch support", "machine wash", "ankle length", "crew length", "odor resistant"),
      (8, 25), ("athletic", "everyday", "performance"), ("cotton", "wool", "bamboo"), "men", True),
    # beauty
    T("beauty", "shampoo", "shampoo", "Hair Care › Shampoo & Conditioner › Shampoos", {"scent": SCENTS_HAIR, "size": LIQUID_SIZES},
      ("sulfate free", "paraben free", "natural ingredients", "color safe", "dry hair", "cruelty free", "hair growth", "tea tree oil", "argan oil"),
      (8, 40), ("moisturizing", "clarifying", "volumizing", "repairing"), ("argan", "coconut", "keratin", "biotin")),
    T("beauty", "face moisturizer", "face moisturizer", "Skin Care › Face › Creams & Moisturizers", {"scent": MOISTURIZER_SCENTS, "size": CREAM_SIZES},
      ("hyaluronic acid", "sensitive skin", "anti aging", "dry skin", "oil free", "cruelty free", "dermatologist tested", "spf 30"),
      (12, 60), ("daily", "hydrating", "night", "lightweight"), ("collagen", "retinol", "squalane")),
    T("beauty", "lipstick", "lipstick", "Makeup › Lips › Lipstick", {"color": LIP_COLORS},
      ("long lasting", "highly pigmented", "cruelty free", "paraben free", "matte finish", "vitamin e", "smudge proof"),
      (6, 30), ("matte", "creamy", "velvet", "satin"), ("shea", "jojoba", "beeswax")),
    T("beauty", "nail polish", "nail polish", "Foot, Hand & Nail Care › Nail Art & Polish › Nail Polish", {"color": NAIL_COLORS},
      ("long lasting", "quick dry", "non toxic", "chip resistant", "high gloss", "cruelty free", "easy apply"),
      (5, 20), ("glossy", "gel", "shimmer", "classic"), ("lacquer", "enamel")),
    T("beauty", "deodorant", "deodorant", "Personal Care › Deodorants & Antiperspirants › Deodorant", {"scent": SCENTS_BODY, "size": STICK_SIZES},
      ("aluminum free", "sensitive skin", "long lasting", "natural ingredients", "paraben free", "cruelty free", "baking soda free"),
      (6, 25), ("natural", "clinical", "fresh", "gentle"), ("charcoal", "magnesium", "coconut")),
    T("beauty", "hair dryer", "hair dryer", "Hair Care › Styling Tools › Hair Dryers", {},
      ("fast drying", "ionic technology", "low noise", "cool shot", "diffuser attachment", "foldable handle", "ceramic tourmaline"),
      (20, 120), ("professional", "compact", "travel", "salon"), ("ceramic", "tourmaline")),
    T("beauty", "makeup brush set", "makeup brush set", "Tools & Accessories › Makeup Brushes & Tools › Brush Sets", {"color": ("black", "pink", "rose gold", "white", "marble", "champagne gold")},
      ("synthetic bristles", "cruelty free", "easy clean", "travel case", "soft bristles", "dense bristles", "wooden handle"),
      (8, 40), ("professional", "premium", "essential", "travel"), ("nylon", "wood", "aluminum")),
    T("beauty", "body wash", "body wash", "Personal Care › Bath & Bathing Accessories › Bath › Body Washes", {"scent": SCENTS_BODY, "size": LIQUID_SIZES},
      ("sulfate free", "dry skin", "natural ingredients", "paraben free", "sensitive skin", "tea tree oil", "shea butter"),
      (6, 30), ("moisturizing", "exfoliating", "refreshing", "gentle"), ("oatmeal", "honey", "aloe")),
    # food
    T("food", "coffee beans", "coffee beans", "Beverages › Coffee, Tea & Cocoa › Coffee › Whole Coffee Beans", {"style": ROASTS, "size": COFFEE_SIZES},
      ("whole bean", "fair trade", "usda organic", "single origin", "non gmo", "low acid", "kosher certified"),
      (10, 45), ("premium", "artisan", "smooth", "bold"), ("arabica", "robusta"), "", True),
    T("food", "green tea", "green tea bags", "Beverages › Coffee, Tea & Cocoa › Tea › Green", {"flavor name": TEA_FLAVORS, "size": TEA_SIZES},
      ("usda organic", "non gmo", "gluten free", "individually wrapped", "kosher certified", "sugar free", "natural flavors"),
      (5, 30), ("premium", "classic", "pure", "loose"), ("sencha", "matcha"), "", True),
    T("food", "protein bars", "protein bars", "Snack Foods › Bars › Protein", {"flavor name": BAR_FLAVORS, "size": BAR_SIZES},
      ("gluten free", "high protein", "low sugar", "keto friendly", "non gmo", "plant based", "individually wrapped"),
      (12, 45), ("chewy", "crunchy", "baked", "soft"), ("whey", "soy", "pea"), "", True),
    T("food", "potato chips", "potato chips", "Snack Foods › Chips & Crisps › Potato", {"flavor name": CHIP_FLAVORS, "size": SNACK_SIZES},
      ("gluten free", "non gmo", "kettle cooked", "low sodium", "vegan friendly", "no artificial colors"),
      (3, 30), ("crunchy", "thick cut", "wavy", "classic"), ("potato", "sweet potato"), "", True),
    T("food", "olive oil", "olive oil", "Pantry Staples › Cooking Oils › Olive", {"size": OIL_SIZES},
      ("extra virgin", "cold pressed", "usda organic", "non gmo", "glass bottle", "kosher certified", "first harvest"),
      (8, 45), ("imported", "premium", "mediterranean", "everyday"), ("olive",)),
    T("food", "gummy candy", "gummy candy", "Candy & Chocolate › Gummy Candies", {"flavor name": CANDY_FLAVORS, "size": SNACK_SIZES},
      ("gluten free", "fat free", "individually wrapped", "vegan friendly", "natural flavors", "halal certified"),
      (3, 25), ("chewy", "sour", "fruity", "classic"), ("gelatin", "pectin")),
    T("food", "dark chocolate", "dark chocolate bar", "Candy & Chocolate › Chocolate Bars", {"flavor name": CHOCOLATE_FLAVORS, "size": BAR_SIZES},
      ("fair trade", "non gmo", "dairy free", "low sugar", "usda organic", "gluten free", "keto friendly"),
      (5, 35), ("rich", "smooth", "artisan", "premium"), ("cacao", "cocoa")),
    T("food", "honey", "honey", "Pantry Staples › Jams, Jellies & Sweet Spreads › Honey", {},
      ("raw unfiltered", "usda organic", "non gmo", "glass jar", "gluten free", "kosher certified", "squeeze bottle"),
      (8, 40), ("pure", "wildflower", "clover", "local"), ("manuka", "acacia", "clover")),
    # furniture
    T("furniture", "office chair", "office chair", "Furniture › Home Office Furniture › Home Office Chairs", {"color": ("black", "grey", "white", "blue", "pink", "brown")},
      ("lumbar support", "adjustable height", "swivel base", "high back", "easy assembly", "breathable mesh", "heavy duty", "padded armrests"),
      (60, 300), ("ergonomic", "executive", "task", "gaming"), ("mesh", "leather", "fabric")),
    T("furniture", "bookshelf", "bookshelf", "Furniture › Living Room Furniture › Bookcases", {"color": WOOD_COLORS, "size": TIER_SIZES},
      ("easy assembly", "engineered wood", "storage space", "metal frame", "anti tip", "open shelves", "living room"),
      (30, 160), ("industrial", "modern", "ladder", "corner"), ("wood", "bamboo", "metal")),
    T("furniture", "coffee table", "coffee table", "Furniture › Living Room Furniture › Tables › Coffee Tables", {"color": WOOD_COLORS},
      ("storage space", "easy assembly", "engineered wood", "metal frame", "solid wood", "lift top", "living room"),
      (50, 250), ("modern", "rustic", "round", "farmhouse"), ("wood", "glass", "marble")),
    T("furniture", "bed frame", "bed frame", "Furniture › Bedroom Furniture › Beds, Frames & Bases › Bed Frames", {"color": WOOD_COLORS, "size": BED_SIZES},
      ("easy assembly", "metal frame", "under bed storage", "no box spring needed", "noise free", "heavy duty", "solid wood"),
      (80, 400), ("platform", "upholstered", "modern", "farmhouse"), ("metal", "wood", "linen")),
    T("furniture", "throw pillow covers", "throw pillow covers", "Home Décor Products › Decorative Pillows, Inserts & Covers › Throw Pillow Covers", {"color": APPAREL_COLORS, "size": PILLOW_SIZES},
      ("machine wash", "zipper closure", "double sided", "living room", "hidden zipper", "soft velvet"),
      (8, 30), ("decorative", "boho", "farmhouse", "modern"), ("velvet", "linen", "cotton"), "", True),
    T("furniture", "blackout curtains", "blackout curtains", "Home Décor Products › Window Treatments › Curtains & Drapes › Panels", {"color": APPAREL_COLORS, "size": CURTAIN_SIZES},
      ("thermal insulated", "machine wash", "noise reducing", "grommet top", "living room", "energy saving", "rod pocket"),
      (15, 60), ("room darkening", "modern", "solid", "textured"), ("polyester", "linen", "velvet"), "", True),
    T("furniture", "bath towel set", "bath towel set", "Bedding & Bath › Bath › Towels › Bath Towels", {"color": APPAREL_COLORS, "size": TOWEL_SIZES},
      ("highly absorbent", "machine wash", "quick dry", "ring spun cotton", "hotel quality", "lint free"),
      (20, 70), ("luxury", "plush", "soft", "everyday"), ("cotton", "bamboo", "microfiber")),
    T("furniture", "table lamp", "table lamp", "Lighting & Ceiling Fans › Lamps & Shades › Table Lamps", {"color": ("black", "white", "gold", "brass", "grey", "wood")},
      ("usb charging port", "touch control", "dimmable light", "bulb included", "easy assembly", "energy efficient", "fabric shade"),
      (20, 90), ("modern", "bedside", "farmhouse", "minimalist"), ("ceramic", "metal", "wood")),
    T("furniture", "shoe rack", "shoe rack", "Storage & Organization › Clothing & Closet Storage › Shoe Organizers", {"color": WOOD_COLORS, "size": TIER_SIZES},
      ("easy assembly", "metal frame", "space saving", "stackable design", "heavy duty", "entryway storage"),
      (15, 60), ("stackable", "narrow", "freestanding", "modern"), ("bamboo", "metal", "wood")),
    # electronics
    T("electronics", "wireless earbuds", "wireless earbuds", "Headphones, Earbuds & Accessories › Headphones & Earbuds › Earbud Headphones", {"color": GADGET_COLORS},
      ("noise cancelling", "charging case", "water resistant", "long battery life", "hands free calling", "touch control", "hd stereo"),
      (15, 120), ("true wireless", "sport", "compact", "premium"), ("silicone", "plastic"), "", True),
    T("electronics", "phone case", "phone case", "Cell Phones & Accessories › Cases, Holsters & Sleeves › Basic Cases", {"color": GADGET_COLORS, "compatible model": PHONE_MODELS},
      ("wireless charging", "slim fit", "drop protection", "raised edges", "kickstand", "shockproof bumper", "clear back"),
      (6, 30), ("slim", "rugged", "clear", "magnetic"), ("silicone", "leather", "polycarbonate")),
    T("electronics", "usb c cable", "usb c cable", "Computers & Accessories › Cables & Accessories › Cables › USB Cables", {"color": GADGET_COLORS, "size": CABLE_SIZES},
      ("fast charging", "braided nylon", "high speed", "tangle free", "data sync", "aluminum connector"),
      (5, 25), ("durable", "right angle", "fast", "long"), ("nylon", "aluminum")),
    T("electronics", "bluetooth speaker", "bluetooth speaker", "Portable Audio & Video › Portable Speakers & Docks › Portable Bluetooth Speakers", {"color": GADGET_COLORS},
      ("water resistant", "long battery life", "hands free calling", "stereo sound", "built in microphone", "usb charging", "deep bass"),
      (20, 150), ("portable", "outdoor", "mini", "rugged"), ("fabric", "rubber")),
    T("electronics", "power bank", "power bank", "Cell Phones & Accessories › Chargers & Power Adapters › Portable Power Banks", {"color": GADGET_COLORS, "capacity": CAPACITIES},
      ("fast charging", "usb c", "led display", "dual usb", "wireless charging", "airline approved"),
      (15, 60), ("portable", "slim", "compact", "high capacity"), ("aluminum", "plastic")),
    T("electronics", "wireless mouse", "wireless mouse", "Computers & Accessories › Computer Accessories & Peripherals › Keyboards, Mice & Accessories › Mice", {"color": GADGET_COLORS},
      ("usb receiver", "silent click", "ergonomic design", "long battery life", "plug and play", "adjustable dpi"),
      (8, 40), ("ergonomic", "compact", "travel", "vertical"), ("plastic", "rubber")),
    T("electronics", "screen protector", "screen protector", "Cell Phones & Accessories › Accessories › Maintenance, Upkeep & Repairs › Screen Protectors", {"compatible model": PHONE_MODELS, "size": PROTECTOR_PACKS},
      ("tempered glass", "bubble free", "case friendly", "easy installation", "high definition", "scratch resistant"),
      (5, 20), ("clear", "privacy", "matte", "anti glare"), ("glass",)),
)  # fmt: skip
del T

_OPTION_PHRASES = {
    "color": ("in {v}", "in {v} color", "with {v} color", "{v} colored"),
    "size": ("in size {v}", "size {v}", "in {v} size", "{v}"),
    "flavor name": ("in {v} flavor", "{v} flavored", "with {v} flavor"),
    "scent": ("with {v} scent", "in {v} scent", "{v} scented"),
    "style": ("in {v}", "{v}", "in {v} style"),
    "capacity": ("with {v} capacity", "{v}", "of {v}"),
    "compatible model": ("for {v}", "compatible with {v}", "that fits {v}"),
}
_TEMPLATES = (
    "i need {thing} that is {attrs}{opts}",
    "i'm looking for {attrs} {noun}{opts}",
    "find me {thing} with {attrs}{opts}",
    "i want to buy {thing} which is {attrs}{opts}",
    "can you get me {thing}, {attrs}{opts}",
    "i would like {thing} that has {attrs}{opts}",
    "show me {attrs} {noun}{opts}",
    "i am searching for {thing} with {attrs}{opts}",
    "looking for {thing} that's {attrs}{opts}",
    "i want {attrs} {noun}{opts}",
)
_BULLET_TAILS = (
    "designed for everyday use",
    "made to last through daily use",
    "a customer favourite",
    "checked by our quality team",
    "easy to love from the first day",
    "great value for the price",
)
_SYLLABLES = ("no", "ra", "vel", "ki", "sto", "mar", "len", "qua", "dor", "zi", "ban", "tri", "lo", "ves", "pen", "cor", "al", "ty", "mo", "ren", "sa", "fin", "gro", "li")
_SERIES = ("Pro", "Plus", "Lite", "Max", "Prime", "Select", "Edition", "Studio", "Sport", "Essential")
_ASIN_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class CatalogRecords:
    """Generated records in the original layout: what the three original files hold."""

    products: list[dict[str, Any]]  # items_shuffle.json
    attributes: dict[str, dict[str, Any]]  # items_ins_v2.json
    human_instructions: dict[str, list[dict[str, Any]]]  # items_human_ins.json
    seed: int

    def write(self, folder: str | os.PathLike) -> None:
        """Write the three files under their original names."""
        os.makedirs(folder, exist_ok=True)
        for name, data in ((PRODUCT_FILE, self.products), (ATTRIBUTE_FILE, self.attributes), (HUMAN_INSTRUCTION_FILE, self.human_instructions)):
            path = os.path.join(folder, name)
            tmp = path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False)
            os.replace(tmp, path)

    def build(self, goal_source: str = "human", **kwargs: Any) -> Catalog:
        meta = {"source": "generated", "generator_seed": self.seed, "num_product_types": len(PRODUCT_TYPES)}
        return build_catalog(self.products, self.attributes, self.human_instructions, goal_source=goal_source, metadata=meta, **kwargs)


def _brands(rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 2, 3)))).capitalize()
        if name not in seen and len(name) >= 4:
            seen.add(name)
            names.append(name)
    return names


def _join(words: Sequence[str]) -> str:
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def _article(noun: str, plural: bool) -> str:
    if plural:
        return ""
    return "an " if noun[0] in "aeiou" else "a "


def _pick_values(rng: random.Random, name: str, pool: Sequence[str]) -> list[str]:
    k = rng.randint(min(2, len(pool)), min(6, len(pool)))
    if name == "size" or name == "capacity":  # sizes come in runs
        start = rng.randint(0, len(pool) - k)
        return list(pool[start : start + k])
    picks = sorted(rng.sample(range(len(pool)), k))
    return [pool[i] for i in picks]


def _instruction(rng: random.Random, t: ProductType, attrs: Sequence[str], options: Mapping[str, str]) -> str:
    thing = _article(t.noun, t.plural) + t.noun
    if t.audience and rng.random() < 0.5:
        thing += f" for {t.audience}"
    clauses = [rng.choice(_OPTION_PHRASES[name]).format(v=value) for name, value in options.items()]
    opts = (" " + " and ".join(clauses)) if clauses else ""
    template = rng.choice(_TEMPLATES)
    return template.format(thing=thing, noun=t.noun, attrs=_join(list(attrs)), opts=opts)


def generate_records(seed: int = DEFAULT_SEED, num_products: int = DEFAULT_NUM_PRODUCTS) -> CatalogRecords:
    """Products, hidden attributes and human-style instructions, deterministic from `seed`."""
    if num_products < 1:
        raise ValueError("num_products must be >= 1")
    rng = random.Random(seed)
    brands = {c: _brands(rng, 40) for c in sorted(_ROOTS)}
    type_order = [i % len(PRODUCT_TYPES) for i in range(num_products)]
    rng.shuffle(type_order)
    products: list[dict[str, Any]] = []
    attributes: dict[str, dict[str, Any]] = {}
    human: dict[str, list[dict[str, Any]]] = {}
    asins: set[str] = set()
    titles: set[str] = set()
    for type_index in type_order:
        t = PRODUCT_TYPES[type_index]
        asin = "B0" + "".join(rng.choice(_ASIN_CHARS) for _ in range(8))
        while asin in asins:
            asin = "B0" + "".join(rng.choice(_ASIN_CHARS) for _ in range(8))
        asins.add(asin)
        brand = rng.choice(brands[t.category])
        descriptor = rng.choice(t.descriptors)
        material = rng.choice(t.materials)
        title = f"{brand} {descriptor.title()} {material.title()} {t.noun.title()}" + (f" for {t.audience.title()}" if t.audience else "")
        series = ""
        while title + series in titles:
            series = f" - {rng.choice(_SERIES)} {rng.randint(2, 99)}"
        title += series
        titles.add(title)
        nouns = [brand.lower(), *material.split(), *t.noun.replace("-", " ").split()]
        if t.audience:
            nouns.append(t.audience)
        if series:
            nouns.append(series.split()[1].lower())
        product_attrs = sorted(rng.sample(range(len(t.attributes)), rng.randint(3, min(5, len(t.attributes)))))
        attrs = [t.attributes[i] for i in product_attrs]
        bullets = [f"{a.capitalize()} - {rng.choice(_BULLET_TAILS)}" for a in attrs]
        bullets.append(f"Made of {material}, {descriptor} style")
        rng.shuffle(bullets)
        description = (
            f"This {descriptor} {t.noun} from {brand} is made of {material}"
            + (f" for {t.audience}" if t.audience else "")
            + f". It features {_join(attrs)}."
        )
        low, high = t.price
        price = round(rng.uniform(low, high)) - 0.01
        if rng.random() < 0.2:
            pricing = f"${price:.2f} - ${price + rng.randint(3, 15):.2f}"
        else:
            pricing = f"${price:.2f}"
        options = {name: _pick_values(rng, name, pool) for name, pool in t.options.items()}
        products.append(
            {
                "asin": asin,
                "name": title,
                "full_description": description,
                "small_description": bullets,
                "pricing": pricing,
                "images": [f"https://example.invalid/rlgen/{asin}.jpg"],
                "product_category": " › ".join([_ROOTS[t.category], t.path]),
                "customization_options": {n: [{"value": v, "image": None} for v in vs] for n, vs in options.items()} or None,
                "category": t.category,
                "query": t.query,
                "average_rating": None,
                "title_nouns": nouns,
            }
        )
        synthetic_attrs = rng.sample(attrs, min(len(attrs), rng.randint(1, 2)))
        attributes[asin] = {
            "attributes": attrs,
            "instruction": _instruction(rng, t, synthetic_attrs, {}),
            "instruction_attributes": synthetic_attrs,
        }
        n_instructions = rng.choices(range(len(INSTRUCTIONS_PER_PRODUCT)), weights=INSTRUCTIONS_PER_PRODUCT)[0]
        entries = []
        for _ in range(n_instructions):
            k = rng.choices((1, 2, 3), weights=(0.35, 0.45, 0.2))[0]
            goal_attrs = rng.sample(attrs, min(k, len(attrs)))
            chosen = {name: rng.choice(values) for name, values in options.items() if rng.random() < 0.9}
            entries.append(
                {
                    "asin": asin,
                    "instruction": _instruction(rng, t, goal_attrs, chosen),
                    "instruction_attributes": goal_attrs,
                    "instruction_options": list(chosen.values()),
                }
            )
        if entries:
            human[asin] = entries
    return CatalogRecords(products=products, attributes=attributes, human_instructions=human, seed=seed)


def generate_catalog(
    seed: int = DEFAULT_SEED, num_products: int = DEFAULT_NUM_PRODUCTS, goal_source: str = "human", **kwargs: Any
) -> Catalog:
    """Generate records and build them into a catalog (one code path with the original files)."""
    return generate_records(seed, num_products).build(goal_source=goal_source, **kwargs)


@lru_cache(maxsize=4)
def default_catalog(seed: int = DEFAULT_SEED, num_products: int = DEFAULT_NUM_PRODUCTS) -> Catalog:
    """The generated catalog the env uses by default: built in memory on first use, then shared."""
    return generate_catalog(seed, num_products)
