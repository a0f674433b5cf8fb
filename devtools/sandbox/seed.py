"""Deterministic demo data for the embedded WapiKit sandbox.

`seed()` wipes every sandbox table and fills it again, in one transaction, from
`random.Random(rng_seed)`: the same seed and the same `now` give the same rows, ids included.
Message bodies follow WapiKit's `messageData` shapes per `messageType`; contact names and
texts are international on purpose (non-Latin scripts, accents, an emoji) so that the
dashboard's rendering and escaping get exercised.

`seed(profile="server")` (and "legacy") then rewrites those rows the way WapiKit's server code
would have stored them: see `seed_server`."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any, Sequence, TypeVar

from django.db import transaction
from django.utils import timezone

from .models import Campaign, Contact, ContactList, Conversation, ConversationAssignment, Member, Message, Role, Tag
from .seed_server import adapt_for_server

T = TypeVar("T")

ORGANIZATION_ID = uuid.UUID("5f0c3a8e-2b7d-4e61-9a4c-8d2e6b1f7a30")
MEDIA = "https://media.example.com"

# --- Members and roles -----------------------------------------------------------------------

ROLES: list[tuple[str, str, list[str]]] = [
    (
        "Support manager",
        "Runs the support queue: updates, assigns and unassigns conversations, sees the team.",
        [
            "Get:Conversation",
            "Update:Conversation",
            "Assign:Conversation",
            "Unassign:Conversation",
            "Get:OrganizationMember",
            "Get:Contact",
        ],
    ),
    ("Support agent", "Reads conversations and contacts and answers customers.", ["Get:Conversation", "Get:Contact"]),
    ("Closer", "Resolves conversations and marks them closed.", ["Get:Conversation", "Update:Conversation"]),
    ("Moderator", "Removes spam and abusive conversations.", ["Get:Conversation", "Delete:Conversation"]),
    ("Reporting", "Read-only access to the analytics pages.", ["Get:PrimaryAnalytics", "Get:CampaignAnalytics"]),
]

# name, email, access level, roles, days since joining, weight when assigning conversations
MEMBERS: list[tuple[str, str, str, list[str], int, float]] = [
    ("Amara Okafor", "owner@example.com", Member.AccessLevel.OWNER, [], 358, 2),
    ("Lucas Moreau", "manager@example.com", Member.AccessLevel.MEMBER, ["Support manager"], 301, 3),
    ("Priya Raman", "agent@example.com", Member.AccessLevel.MEMBER, ["Support agent"], 244, 5),
    # No roles, so no Get:Conversation: a few conversations go to her anyway, as happens upstream.
    ("Tomás Silva", "norole@example.com", Member.AccessLevel.MEMBER, [], 187, 0.8),
    ("Mei Chen", "mei.chen@example.com", Member.AccessLevel.MEMBER, ["Support agent"], 133, 5),
    ("Jonas Becker", "jonas.becker@example.com", Member.AccessLevel.MEMBER, ["Support manager", "Moderator"], 76, 3),
    (
        "Fatima Zahra El Amrani",
        "fatima.elamrani@example.com",
        Member.AccessLevel.MEMBER,
        ["Support agent", "Closer"],
        19,
        4,
    ),
]

CAMPAIGNS: list[tuple[str, float, Sequence[str]]] = [
    # name, weight, topics of the replies it draws
    ("Spring sale 2026", 4, ("order", "order", "delivery")),
    ("Order follow-up", 3, ("delivery", "refund", "order")),
    ("Renewal reminders", 2, ("billing",)),
    ("Welcome series", 2, ("order", "billing")),
]

CAMPAIGN_TEXTS = {
    "Spring sale 2026": [
        "Hi {first}! 🌸 Our Spring Sale is live: 20% off everything until Sunday with code SPRING26. Reply STOP to unsubscribe.",
        "{first}, spring is here and so are our deals: up to 40% off new arrivals this week only. Reply STOP to opt out.",
    ],
    "Order follow-up": [
        "Hi {first}, your order #{order} has been delivered. How did we do? Reply here if anything isn't right.",
        "Hello {first}! Just checking in on order #{order}: did everything arrive in good shape?",
    ],
    "Renewal reminders": [
        "Hi {first}, your {plan} plan renews on {renewal}. Reply here if you'd like to change or cancel it.",
        "Reminder: your {plan} subscription renews in 7 days ({renewal}). Questions about billing? Just reply.",
    ],
    "Welcome series": [
        "Welcome aboard, {first}! 👋 Save this number: you can message us here any time about orders, delivery or billing.",
        "Hi {first}, thanks for joining! Here's 10% off your first order: WELCOME10. Reply with any question.",
    ],
}

TAGS = ["VIP", "billing", "refund", "shipping", "urgent", "new lead", "complaint", "wholesale", "follow-up"]
TOPIC_TAG = {"billing": "billing", "refund": "refund", "delivery": "shipping", "order": "follow-up"}
LISTS = [("Newsletter", 0.45), ("Customers", 0.6), ("Leads", 0.25)]
PLANS = [("Free", 3), ("Starter", 4), ("Pro", 3), ("Business", 1)]
PRODUCTS = [
    "wireless earbuds",
    "running shoes",
    "coffee grinder",
    "linen shirt",
    "desk lamp",
    "backpack",
    "yoga mat",
    "phone case",
    "smartwatch strap",
    "ceramic mug set",
]

# --- Countries: phones, cities, names, languages ---------------------------------------------


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def _dot(value: float) -> str:
    return f"{value:,.2f}"


def _comma(value: float) -> str:
    return f"{value:,.2f}".replace(",", " ").replace(".", ",")


COUNTRIES: list[dict[str, Any]] = [
    {
        "weight": 13,
        "dial": "+44",
        "number": lambda r: "7" + r.choice("45789") + _digits(r, 8),
        "langs": [("en", 1)],
        "money": (1.0, lambda v: f"£{_dot(v)}"),
        "cities": [
            ("London", 51.5074, -0.1278, "221 Baker Street, London NW1 6XE"),
            ("Manchester", 53.4808, -2.2426, "14 Deansgate, Manchester M3 2BW"),
            ("Leeds", 53.8008, -1.5491, "3 Briggate, Leeds LS1 6HD"),
            ("Bristol", 51.4545, -2.5879, "27 Park Street, Bristol BS1 5NH"),
            ("Glasgow", 55.8642, -4.2518, "110 Buchanan Street, Glasgow G1 2JN"),
        ],
        "latin": (
            ["Oliver", "Charlotte", "Harriet", "George", "Siobhán", "Amelia", "Rhys", "Imogen", "Callum"],
            ["Bennett", "Hughes", "O'Connor", "Lloyd", "Clarke", "Patel", "Ward", "Fitzgerald", "Evans"],
        ),
    },
    {
        "weight": 13,
        "dial": "+91",
        "number": lambda r: r.choice("6789") + _digits(r, 9),
        "langs": [("en", 6), ("hi", 4)],
        "money": (85.0, lambda v: f"₹{v:,.0f}"),
        "cities": [
            ("Mumbai", 19.0760, 72.8777, "Linking Road 42, Bandra West, Mumbai 400050"),
            ("Bengaluru", 12.9716, 77.5946, "80 Feet Road 12, Koramangala, Bengaluru 560034"),
            ("Delhi", 28.6139, 77.2090, "B-14 Connaught Place, New Delhi 110001"),
            ("Pune", 18.5204, 73.8567, "FC Road 7, Shivajinagar, Pune 411004"),
            ("Chennai", 13.0827, 80.2707, "T. Nagar 31, Chennai 600017"),
        ],
        "latin": (
            ["Arjun", "Ananya", "Rohan", "Kavya", "Vikram", "Sneha", "Aditya", "Ishita", "Karthik"],
            ["Mehta", "Iyer", "Sharma", "Nair", "Reddy", "Gupta", "Banerjee", "Kulkarni", "Singh"],
        ),
        "native": (
            ["प्रिया", "राहुल", "अंजलि", "विकास", "सुनीता", "अमित", "नेहा", "संजय"],
            ["शर्मा", "वर्मा", "गुप्ता", "यादव", "मिश्रा", "पटेल", "जोशी", "चौहान"],
        ),
        "native_lang": "hi",
    },
    {
        "weight": 12,
        "dial": "+55",
        "number": lambda r: r.choice(["11", "21", "31", "41", "71", "51"]) + "9" + _digits(r, 8),
        "langs": [("pt", 1)],
        "money": (5.5, lambda v: f"R$ {_comma(v)}"),
        "cities": [
            ("São Paulo", -23.5505, -46.6333, "Av. Paulista, 1578 - Bela Vista, São Paulo - SP"),
            ("Rio de Janeiro", -22.9068, -43.1729, "Rua Visconde de Pirajá, 330 - Ipanema, Rio de Janeiro - RJ"),
            ("Belo Horizonte", -19.9167, -43.9345, "Av. Afonso Pena, 1500 - Centro, Belo Horizonte - MG"),
            ("Curitiba", -25.4284, -49.2733, "Rua XV de Novembro, 700 - Centro, Curitiba - PR"),
            ("Salvador", -12.9777, -38.5016, "Av. Sete de Setembro, 2100 - Vitória, Salvador - BA"),
        ],
        "latin": (
            ["João", "Ana Luíza", "Gonçalo", "Letícia", "Thiago", "Fernanda", "Caio", "Beatriz", "Luís Otávio"],
            ["Pereira", "Conceição", "Araújo", "Gonçalves", "Magalhães", "Simões", "Brandão", "Assunção", "Lima"],
        ),
    },
    {
        "weight": 9,
        "dial": "+49",
        "number": lambda r: "1" + r.choice(["51", "52", "60", "62", "70", "71", "76"]) + _digits(r, 8),
        "langs": [("de", 85), ("en", 15)],
        "money": (1.0, lambda v: f"{_comma(v)} €"),
        "cities": [
            ("Berlin", 52.5200, 13.4050, "Friedrichstraße 68, 10117 Berlin"),
            ("München", 48.1351, 11.5820, "Leopoldstraße 23, 80802 München"),
            ("Hamburg", 53.5511, 9.9937, "Mönckebergstraße 7, 20095 Hamburg"),
            ("Köln", 50.9375, 6.9603, "Ehrenstraße 41, 50672 Köln"),
            ("Frankfurt am Main", 50.1109, 8.6821, "Zeil 106, 60313 Frankfurt am Main"),
        ],
        "latin": (
            ["Jürgen", "Anneliese", "Lukas", "Sophie", "Maximilian", "Lena", "Björn", "Käthe", "Felix"],
            ["Müller", "Weiß", "Schäfer", "Hoffmann", "Krüger", "Schröder", "Wagner", "Groß", "Becker"],
        ),
    },
    {
        "weight": 10,
        "dial": "+234",
        "number": lambda r: r.choice(["803", "806", "813", "816", "703", "706", "903", "810"]) + _digits(r, 7),
        "langs": [("en", 1)],
        "money": (1550.0, lambda v: f"₦{v:,.0f}"),
        "cities": [
            ("Lagos", 6.5244, 3.3792, "12 Admiralty Way, Lekki Phase 1, Lagos"),
            ("Abuja", 9.0765, 7.3986, "Plot 1061 Herbert Macaulay Way, Central Business District, Abuja"),
            ("Ibadan", 7.3775, 3.9470, "Ring Road, Ibadan, Oyo State"),
            ("Port Harcourt", 4.8156, 7.0498, "45 Aba Road, Port Harcourt, Rivers State"),
        ],
        "latin": (
            ["Chidinma", "Oluwaseun", "Ngozi", "Emeka", "Aisha", "Tunde", "Adaeze", "Ifeanyi", "Folake"],
            ["Eze", "Adeyemi", "Okonkwo", "Nwosu", "Bello", "Balogun", "Okafor", "Adebayo", "Umeh"],
        ),
    },
    {
        "weight": 12,
        "dial": "+1",
        "number": lambda r: r.choice(["212", "512", "312", "619", "206", "305", "416", "604"]) + r.choice("23456789") + _digits(r, 6),
        "langs": [("en", 85), ("es", 15)],
        "money": (1.08, lambda v: f"${_dot(v)}"),
        "cities": [
            ("New York", 40.7128, -74.0060, "350 5th Ave, New York, NY 10118"),
            ("Austin", 30.2672, -97.7431, "1100 Congress Ave, Austin, TX 78701"),
            ("Chicago", 41.8781, -87.6298, "233 S Wacker Dr, Chicago, IL 60606"),
            ("San Diego", 32.7157, -117.1611, "1050 Garnet Ave, San Diego, CA 92109"),
            ("Toronto", 43.6532, -79.3832, "220 Yonge St, Toronto, ON M5B 2H1"),
        ],
        "latin": (
            ["Madison", "José", "Tyler", "Dana", "Émilie", "Marcus", "Chloe", "Andrés", "Brianna"],
            ["Carter", "Hernández", "Brooks", "Kim", "Tremblay", "Johnson", "Nguyen", "Ramírez", "O'Neill"],
        ),
    },
    {
        "weight": 9,
        "dial": "+971",
        "number": lambda r: "5" + r.choice("024568") + _digits(r, 7),
        "langs": [("ar", 55), ("en", 45)],
        "money": (3.97, lambda v: f"AED {_dot(v)}"),
        "cities": [
            ("Dubai", 25.2048, 55.2708, "Sheikh Zayed Road, Trade Centre 1, Dubai"),
            ("Abu Dhabi", 24.4539, 54.3773, "Corniche Road West, Al Khalidiyah, Abu Dhabi"),
            ("Sharjah", 25.3463, 55.4209, "Al Wahda Street, Al Qasimia, Sharjah"),
        ],
        "latin": (
            ["Omar", "Layla", "Khalid", "Noura", "Yousef", "Mariam", "Rashid", "Hessa"],
            ["Al Mansouri", "Al Hashemi", "Haddad", "Al Suwaidi", "Khoury", "Al Nuaimi", "Saleh", "Al Marri"],
        ),
        "native": (
            ["محمد", "فاطمة", "أحمد", "ليلى", "يوسف", "مريم", "خالد", "نورة"],
            ["الهاشمي", "المنصوري", "حداد", "السويدي", "النعيمي", "الخوري", "المري", "صالح"],
        ),
        "native_lang": "ar",
    },
    {
        "weight": 6,
        "dial": "+30",
        "number": lambda r: "69" + r.choice("3479") + _digits(r, 7),
        "langs": [("el", 8), ("en", 2)],
        "money": (1.0, lambda v: f"{_comma(v)} €"),
        "cities": [
            ("Αθήνα", 37.9838, 23.7275, "Ερμού 25, Αθήνα 105 63"),
            ("Θεσσαλονίκη", 40.6401, 22.9444, "Τσιμισκή 43, Θεσσαλονίκη 546 23"),
            ("Πάτρα", 38.2466, 21.7346, "Μαιζώνος 120, Πάτρα 262 21"),
        ],
        "latin": (
            ["Giorgos", "Eleni", "Dimitris", "Katerina", "Nikos", "Sofia"],
            ["Papadopoulos", "Konstantinou", "Nikolaou", "Georgiou", "Oikonomou", "Dimitriou"],
        ),
        "native": (
            ["Γιώργος", "Ελένη", "Δημήτρης", "Κατερίνα", "Νίκος", "Σοφία", "Γιάννης", "Μαρία"],
            ["Παπαδόπουλος", "Κωνσταντίνου", "Νικολάου", "Γεωργίου", "Οικονόμου", "Δημητρίου", "Αλεξίου", "Βασιλείου"],
        ),
        "native_lang": "el",
    },
    {
        "weight": 6,
        "dial": "+86",
        "number": lambda r: "1" + r.choice("35789") + _digits(r, 9),
        "langs": [("zh", 9), ("en", 1)],
        "money": (7.8, lambda v: f"¥{_dot(v)}"),
        "cities": [
            ("上海", 31.2304, 121.4737, "上海市黄浦区南京东路 300 号"),
            ("北京", 39.9042, 116.4074, "北京市朝阳区建国路 88 号"),
            ("深圳", 22.5431, 114.0579, "深圳市南山区科技园南区 12 栋"),
            ("杭州", 30.2741, 120.1551, "杭州市西湖区文三路 478 号"),
        ],
        "latin": (["Wei", "Na", "Min", "Jing", "Yang", "Lei"], ["Wang", "Li", "Zhang", "Liu", "Chen", "Zhao"]),
        "native": (
            ["伟", "娜", "敏", "静", "洋", "磊", "婷", "子涵"],
            ["王", "李", "张", "刘", "陈", "杨", "赵", "黄"],
        ),
        "native_lang": "zh",
        "family_first": True,
    },
    {
        "weight": 6,
        "dial": "+34",
        "number": lambda r: r.choice("67") + _digits(r, 8),
        "langs": [("es", 1)],
        "money": (1.0, lambda v: f"{_comma(v)} €"),
        "cities": [
            ("Madrid", 40.4168, -3.7038, "Calle de Alcalá 45, 28014 Madrid"),
            ("Barcelona", 41.3874, 2.1686, "Passeig de Gràcia 92, 08008 Barcelona"),
            ("Sevilla", 37.3891, -5.9845, "Calle Sierpes 30, 41004 Sevilla"),
            ("Valencia", 39.4699, -0.3763, "Carrer de Colón 18, 46004 València"),
        ],
        "latin": (
            ["Lucía", "Álvaro", "Begoña", "Iñaki", "Carmen", "Sergio", "Nuria", "Javier"],
            ["Fernández", "Muñoz", "Ibáñez", "García", "Peña", "Ortega", "Núñez", "Castillo"],
        ),
    },
    {
        "weight": 6,
        "dial": "+33",
        "number": lambda r: r.choice("67") + _digits(r, 8),
        "langs": [("fr", 1)],
        "money": (1.0, lambda v: f"{_comma(v)} €"),
        "cities": [
            ("Paris", 48.8566, 2.3522, "12 rue de Rivoli, 75004 Paris"),
            ("Lyon", 45.7640, 4.8357, "8 place Bellecour, 69002 Lyon"),
            ("Marseille", 43.2965, 5.3698, "45 La Canebière, 13001 Marseille"),
            ("Toulouse", 43.6047, 1.4442, "3 rue d'Alsace-Lorraine, 31000 Toulouse"),
        ],
        "latin": (
            ["Chloé", "François", "Léa", "Hélène", "Théo", "Zoé", "Jérôme", "Maëlle"],
            ["Lefèvre", "Dubois", "Girard", "Rousseau", "Bélanger", "Mercier", "Faure", "Chevalier"],
        ),
    },
    {
        "weight": 4,
        "dial": "+351",
        "number": lambda r: "9" + r.choice("1236") + _digits(r, 7),
        "langs": [("pt", 1)],
        "money": (1.0, lambda v: f"{_comma(v)} €"),
        "cities": [
            ("Lisboa", 38.7223, -9.1393, "Rua Augusta 120, 1100-053 Lisboa"),
            ("Porto", 41.1579, -8.6291, "Rua de Santa Catarina 310, 4000-443 Porto"),
        ],
        "latin": (
            ["Inês", "Tiago", "Mariana", "Rodrigo", "Leonor", "Duarte"],
            ["Carvalho", "Gonçalves", "Rebelo", "Sousa", "Fonseca", "Antunes"],
        ),
    },
]

# Contacts that every seed includes first, so even a small seed shows each script.
SHOWCASE: list[tuple[str, str, str | None]] = [
    # (dial code, language, fixed name or None for a drawn native name)
    ("+30", "el", None),
    ("+971", "ar", None),
    ("+86", "zh", None),
    ("+91", "hi", None),
    ("+55", "pt", None),
    ("+1", "en", "Jess 🌻 Parker"),
]
NAME_EMOJI = ["🌻", "✨", "⚽", "🎧", "🌴", "💫"]

# --- Texts -----------------------------------------------------------------------------------
# Inbound texts by topic, inbound follow-ups ("more"), and agents' answers ("agent"), by language.

TEXTS: dict[str, dict[str, list[str]]] = {
    "en": {
        "order": [
            "Hi, I placed order #{order} yesterday but never got a confirmation email. Can you check?",
            "Hello! Can I still change the size on order #{order}? I ordered an M but need an L.",
            "Is the {product} back in stock? The website says sold out.",
            "I want to add one more item to order #{order} before it ships, is that possible?",
            "Hi there, do you ship to {city}?",
            "hey can i pay cash on delivery for order #{order}??",
        ],
        "refund": [
            "Hi, I returned the {product} two weeks ago and still haven't got my refund.",
            "The {product} arrived damaged. I'd like a refund please.",
            "How long does a refund take to show up on my card?",
            "I was charged but the order was cancelled. When do I get the money back?",
        ],
        "delivery": [
            "Where is my order? Tracking has said 'in transit' since Monday.",
            "The courier says delivered but there's nothing at my door 😟",
            "Can you deliver to my office instead? Order #{order}",
            "My parcel is stuck at customs, what do I need to do?",
            "Order #{order} still not delivered. Please check asap",
        ],
        "billing": [
            "I was charged twice for my {plan} subscription this month.",
            "Can you send me an invoice with my company VAT number on it?",
            "My card was declined but I definitely have funds, can you retry the payment?",
            "How do I switch from monthly to annual billing?",
        ],
        "more": [
            "Any update on this?",
            "Ok, thank you!",
            "Thanks, that was quick 🙏",
            "Sure, one moment",
            "Order number is #{order}",
            "It's still not working",
            "Perfect, thanks a lot!",
            "Can I call someone instead?",
            "Yes please",
            "Great 👍",
            "Hello?? Is anyone there",
            "The email on the account is the same as this number's",
        ],
        "agent": [
            "Hi {first}, thanks for reaching out! Let me check that for you.",
            "I've found order #{order}. It left our warehouse yesterday and should arrive within 2–3 working days.",
            "I'm sorry about that. I've issued a full refund of {amount}; it can take 5–10 business days to appear.",
            "Could you send a photo of the item and the packaging, please?",
            "Done: I've updated the delivery address on your order.",
            "I've opened a claim with the courier (ref. {ref}) and will get back to you within 48 hours.",
            "Is there anything else I can help you with?",
            "The duplicate charge of {amount} has been reversed. Sorry for the trouble!",
            "Thanks for your patience, {first}.",
            "Yes, we ship to {city}! Delivery usually takes 3–5 days.",
            "I'll close this chat for now, but just message us if you need anything else. Have a great day!",
        ],
    },
    "pt": {
        "order": [
            "Oi, fiz o pedido #{order} ontem e ainda não recebi a confirmação.",
            "Vocês entregam em {city}?",
            "Ainda dá pra trocar o tamanho do pedido #{order}?",
        ],
        "refund": [
            "Devolvi o produto há duas semanas e o reembolso ainda não caiu.",
            "O produto chegou quebrado, quero o estorno por favor.",
        ],
        "delivery": [
            "Cadê meu pedido? O rastreio está parado há 5 dias.",
            "O entregador marcou como entregue mas não recebi nada 😕",
        ],
        "billing": [
            "Fui cobrado duas vezes no cartão este mês.",
            "Podem me enviar a nota fiscal do pedido #{order}?",
        ],
        "more": ["Alguma novidade?", "Obrigado!", "Valeu, muito obrigada 🙏", "Ok, fico no aguardo.", "Ainda não resolveu."],
        "agent": [
            "Olá {first}, obrigado pelo contato! Vou verificar para você.",
            "Seu pedido #{order} saiu para entrega e deve chegar em até 2 dias úteis.",
            "Sinto muito pelo transtorno. O reembolso de {amount} já foi solicitado.",
            "Pode me enviar uma foto da embalagem, por favor?",
            "Posso ajudar em mais alguma coisa?",
        ],
    },
    "es": {
        "order": [
            "Hola, hice el pedido #{order} ayer y no me llegó el correo de confirmación.",
            "¿Hacen envíos a {city}?",
        ],
        "refund": ["El producto llegó roto, quiero un reembolso.", "¿Cuánto tarda en llegar el reembolso a mi tarjeta?"],
        "delivery": ["Mi paquete lleva una semana sin moverse 😩", "¿Pueden entregarlo en mi oficina?"],
        "billing": ["Me cobraron dos veces este mes.", "Necesito la factura con mi NIF, por favor."],
        "more": ["¿Alguna novedad?", "¡Muchas gracias!", "Vale, espero.", "Sigue sin funcionar."],
        "agent": [
            "¡Hola {first}! Gracias por escribirnos, lo reviso ahora mismo.",
            "Tu pedido #{order} ya está en camino, llegará en 2–3 días laborables.",
            "Lo siento mucho. Hemos emitido el reembolso de {amount}.",
            "¿Podrías enviarnos una foto del producto?",
        ],
    },
    "de": {
        "order": [
            "Hallo, ich habe gestern Bestellung #{order} aufgegeben, aber keine Bestätigung bekommen.",
            "Kann ich bei Bestellung #{order} noch die Größe ändern?",
        ],
        "refund": [
            "Ich habe den Artikel vor zwei Wochen zurückgeschickt, die Erstattung fehlt noch.",
            "Der Artikel kam beschädigt an. Ich möchte mein Geld zurück.",
        ],
        "delivery": [
            "Wo bleibt meine Lieferung? Die Sendungsverfolgung zeigt seit Tagen nichts Neues.",
            "Laut DHL zugestellt, aber hier ist nichts angekommen.",
        ],
        "billing": [
            "Mir wurde das Abo diesen Monat doppelt abgebucht.",
            "Könnten Sie mir eine Rechnung mit USt-IdNr. schicken?",
        ],
        "more": ["Gibt es schon Neuigkeiten?", "Danke schön!", "Alles klar, danke 👍", "Funktioniert leider immer noch nicht."],
        "agent": [
            "Hallo {first}, danke für Ihre Nachricht! Ich schaue mir das gleich an.",
            "Ihre Bestellung #{order} ist unterwegs und kommt in 2–3 Werktagen an.",
            "Das tut mir leid. Die Erstattung über {amount} ist veranlasst.",
            "Könnten Sie uns ein Foto vom Schaden schicken?",
        ],
    },
    "fr": {
        "order": [
            "Bonjour, j'ai passé la commande #{order} hier mais je n'ai reçu aucune confirmation.",
            "Livrez-vous à {city} ?",
        ],
        "refund": [
            "L'article est arrivé abîmé, je voudrais être remboursée.",
            "Combien de temps pour recevoir le remboursement ?",
        ],
        "delivery": [
            "Mon colis est bloqué depuis lundi, pouvez-vous vérifier ?",
            "Le livreur l'a marqué « livré » mais je n'ai rien reçu.",
        ],
        "billing": ["J'ai été prélevé deux fois ce mois-ci.", "Pouvez-vous m'envoyer la facture de la commande #{order} ?"],
        "more": ["Des nouvelles ?", "Merci beaucoup !", "D'accord, j'attends.", "Ça ne marche toujours pas."],
        "agent": [
            "Bonjour {first}, merci pour votre message ! Je regarde ça tout de suite.",
            "Votre commande #{order} est en route, livraison prévue sous 2 à 3 jours ouvrés.",
            "Désolé pour ce désagrément. Le remboursement de {amount} a été effectué.",
        ],
    },
    "ar": {
        "order": ["مرحباً، طلبت الطلب رقم #{order} أمس ولم يصلني تأكيد.", "هل توصلون إلى {city}؟"],
        "refund": ["وصل المنتج تالفاً، أريد استرداد المبلغ من فضلك.", "متى سيصل المبلغ المسترد إلى بطاقتي؟"],
        "delivery": ["أين طلبي؟ التتبع لم يتغير منذ ثلاثة أيام.", "المندوب قال إنه تم التسليم لكن لم يصلني شيء."],
        "billing": ["تم خصم الاشتراك مرتين هذا الشهر.", "أحتاج فاتورة ضريبية للطلب #{order}."],
        "more": ["هل من جديد؟", "شكراً جزيلاً 🙏", "تمام، بانتظاركم.", "ما زالت المشكلة موجودة."],
        "agent": [
            "أهلاً {first}، شكراً لتواصلك معنا! سأتحقق من ذلك الآن.",
            "طلبك رقم #{order} في الطريق وسيصل خلال يومين إلى ثلاثة أيام عمل.",
            "نعتذر عن الإزعاج، تم إصدار استرداد بقيمة {amount}.",
        ],
    },
    "hi": {
        "order": ["नमस्ते, मैंने कल ऑर्डर #{order} किया था लेकिन कन्फर्मेशन नहीं आया।", "क्या आप {city} में डिलीवरी करते हैं?"],
        "refund": ["प्रोडक्ट टूटा हुआ आया है, मुझे रिफंड चाहिए।", "रिफंड कितने दिनों में आएगा?"],
        "delivery": ["मेरा ऑर्डर कहाँ है? ट्रैकिंग तीन दिन से अपडेट नहीं हुई।", "डिलीवरी बॉय ने डिलीवर दिखा दिया पर पार्सल नहीं मिला।"],
        "billing": ["इस महीने मेरे कार्ड से दो बार पैसे कटे हैं।", "ऑर्डर #{order} का GST इनवॉइस भेज दीजिए।"],
        "more": ["कोई अपडेट?", "धन्यवाद 🙏", "ठीक है, मैं इंतज़ार करता हूँ।", "अभी भी नहीं हुआ।"],
        "agent": [
            "नमस्ते {first}, संपर्क करने के लिए धन्यवाद! मैं अभी चेक करता हूँ।",
            "आपका ऑर्डर #{order} रास्ते में है, 2–3 दिनों में पहुँच जाएगा।",
            "असुविधा के लिए खेद है। {amount} का रिफंड शुरू कर दिया गया है।",
        ],
    },
    "el": {
        "order": [
            "Καλησπέρα, έκανα την παραγγελία #{order} χθες και δεν πήρα επιβεβαίωση.",
            "Στέλνετε και στην περιοχή {city};",
        ],
        "refund": ["Το προϊόν ήρθε χαλασμένο, θα ήθελα επιστροφή χρημάτων.", "Πότε θα γίνει η επιστροφή στην κάρτα μου;"],
        "delivery": [
            "Πού είναι η παραγγελία μου; Το tracking δεν έχει αλλάξει εδώ και μέρες.",
            "Ο κούριερ λέει ότι παραδόθηκε αλλά δεν έλαβα τίποτα.",
        ],
        "billing": ["Με χρεώσατε δύο φορές αυτόν τον μήνα.", "Μπορείτε να μου στείλετε τιμολόγιο για την παραγγελία #{order};"],
        "more": ["Κάποιο νέο;", "Ευχαριστώ πολύ!", "Εντάξει, περιμένω.", "Ακόμα δεν λειτουργεί."],
        "agent": [
            "Γεια σας {first}, ευχαριστούμε για το μήνυμα! Το ελέγχω αμέσως.",
            "Η παραγγελία #{order} έχει σταλεί και θα φτάσει σε 2–3 εργάσιμες.",
            "Λυπούμαστε για την ταλαιπωρία. Η επιστροφή {amount} έχει ξεκινήσει.",
        ],
    },
    "zh": {
        "order": ["你好，我昨天下了订单 #{order}，但是没有收到确认邮件。", "请问可以寄到{city}吗？"],
        "refund": ["收到的商品是坏的，我想申请退款。", "退款多久能到账？"],
        "delivery": ["我的包裹在哪里？物流三天没有更新了。", "快递显示已签收，但我没有收到。"],
        "billing": ["这个月我的卡被扣了两次款。", "可以给我开订单 #{order} 的发票吗？"],
        "more": ["有进展吗？", "谢谢！", "好的，我等你们消息。", "还是不行。"],
        "agent": [
            "{first}您好，感谢您的留言！我马上帮您查一下。",
            "您的订单 #{order} 已发货，预计2–3个工作日送达。",
            "非常抱歉给您带来不便，{amount} 的退款已经提交。",
        ],
    },
}

IMAGE_CAPTIONS = {
    "InBound": ["This is how the box arrived 😕", "Screenshot of the payment", "The label on the parcel", "Wrong colour, I ordered black", ""],
    "OutBound": ["Here's where to find your order number", "Size guide", "Spring collection 🌸", ""],
}
VIDEO_CAPTIONS = {
    "InBound": ["It makes this noise when I switch it on", "Unboxing: the seal was already broken", ""],
    "OutBound": ["How to reset your earbuds in 10 seconds", "Return packing instructions"],
}
LOCATION_NAMES = {"InBound": ["Home", "Work", "My office", "Delivery address"], "OutBound": ["Pickup point", "Our store", "Returns desk"]}
REACTIONS = {"InBound": ["👍", "👍", "👍", "❤️", "🙏", "😂"], "OutBound": ["👍", "👍", "❤️"]}
TYPE_WEIGHTS = {
    "InBound": [
        ("Text", 76),
        ("Image", 7),
        ("Audio", 4),
        ("Video", 2),
        ("Document", 2),
        ("Location", 2),
        ("Sticker", 3),
        ("Reaction", 4),
    ],
    "OutBound": [("Text", 83), ("Document", 6), ("Image", 4), ("Video", 1), ("Location", 1), ("Reaction", 3)],
}

# Where conversations' last activity falls: (share, from, to) in seconds before now.
HOUR = 3600
DAY = 24 * HOUR
RECENCY = [
    (0.04, 60, 20 * 60),  # minutes ago
    (0.04, 20 * 60, 90 * 60),
    (0.15, 90 * 60, 22 * HOUR),
    (0.07, 22 * HOUR, 24 * HOUR - 120),  # WhatsApp's 24-hour window about to close
    (0.20, DAY, 3 * DAY),
    (0.25, 3 * DAY, 10 * DAY),
    (0.25, 10 * DAY, 30 * DAY),
]
MESSAGE_COUNT_WEIGHTS = [6, 8, 10, 11, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2]  # 1..14 messages
UNREAD_RUN_WEIGHTS = [40, 25, 15, 10, 5, 5]  # 1..6 trailing unread inbound messages


# --- Helpers ---------------------------------------------------------------------------------


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _weighted(rng: random.Random, pairs: Sequence[tuple[T, float]]) -> T:
    return rng.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


def _quota(rng: random.Random, n: int, shares: Sequence[tuple[T, float]]) -> list[T]:
    """n values in the given shares (largest remainder), shuffled."""
    exact = [share * n for _, share in shares]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    values = [value for (value, _), count in zip(shares, counts) for _ in range(count)]
    rng.shuffle(values)
    return values


def _fill(template: str, ctx: dict[str, Any]) -> str:
    return template.format(**ctx)


def _pick_unused(rng: random.Random, pool: Sequence[str], used: set[str]) -> str:
    fresh = [t for t in pool if t not in used]
    choice = rng.choice(fresh or list(pool))
    used.add(choice)
    return choice


def _wamid(rng: random.Random) -> str:
    return f"wamid.{rng.getrandbits(160):040X}"


def _media_id(rng: random.Random) -> str:
    return str(rng.randrange(10**15, 10**16))


def _hex(rng: random.Random, bits: int = 64) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def _save(model, objects: list) -> list:
    """bulk_create, making sure primary keys are known even where the backend doesn't return them."""
    created = model.objects.bulk_create(objects, batch_size=500)
    if any(o.pk is None for o in created):
        pks = dict(model.objects.values_list("unique_id", "pk"))
        for o in created:
            o.pk = pks[o.unique_id]
    return created


def wipe() -> None:
    """Delete every sandbox row (through-tables first, so each delete is a plain DELETE)."""
    Conversation.tags.through.objects.all().delete()
    ContactList.contacts.through.objects.all().delete()
    Member.roles.through.objects.all().delete()
    ConversationAssignment.objects.all().delete()
    for model in (Message, Conversation, ContactList, Contact, Tag, Campaign, Member, Role):
        model.objects.all().delete()


# --- Contacts --------------------------------------------------------------------------------


def _make_contact(
    rng: random.Random, country: dict[str, Any], lang: str, fixed_name: str | None, phones: set[str]
) -> dict[str, Any]:
    native = "native" in country and lang == country.get("native_lang")
    firsts, lasts = country["native" if native else "latin"]
    first, last = rng.choice(firsts), rng.choice(lasts)
    if fixed_name:
        name, short = fixed_name, fixed_name.split()[0]
    elif country.get("family_first") and native:
        name, short = f"{last}{first}", f"{last}{first}"
    else:
        name, short = f"{first} {last}", first
        if not native and rng.random() < 0.03:
            name = f"{name} {rng.choice(NAME_EMOJI)}"
    while True:
        phone = country["dial"] + country["number"](rng)
        if phone not in phones:
            phones.add(phone)
            break
    city = rng.choice(country["cities"])
    attributes: dict[str, Any] = {"city": city[0], "plan": _weighted(rng, PLANS)}
    if rng.random() < 0.5:
        attributes["orders"] = rng.randint(1, 40)
    if rng.random() < 0.2:
        attributes["language"] = lang
    return {
        "name": name,
        "first": short,
        "phone": phone,
        "city": city,
        "lang": lang,
        "attributes": attributes,
        "status": _weighted(rng, [("Active", 90), ("Inactive", 6), ("Blocked", 4)]),
        "money": country["money"],
    }


def _contacts(rng: random.Random, n: int) -> list[dict[str, Any]]:
    phones: set[str] = set()
    by_dial = {c["dial"]: c for c in COUNTRIES}
    people = []
    for i in range(n):
        if i < len(SHOWCASE):
            dial, lang, fixed = SHOWCASE[i]
            country = by_dial[dial]
        else:
            country = _weighted(rng, [(c, c["weight"]) for c in COUNTRIES])
            lang, fixed = _weighted(rng, country["langs"]), None
        people.append(_make_contact(rng, country, lang, fixed, phones))
    return people


# --- Messages --------------------------------------------------------------------------------


def _gap(rng: random.Random) -> int:
    """Seconds between two consecutive messages of a conversation."""
    r = rng.random()
    if r < 0.45:
        return rng.randint(20, 5 * 60)
    if r < 0.8:
        return rng.randint(5 * 60, 2 * HOUR)
    if r < 0.95:
        return rng.randint(2 * HOUR, 20 * HOUR)
    return rng.randint(DAY, 3 * DAY)


def _message_data(
    rng: random.Random,
    kind: str,
    direction: str,
    at: datetime,
    ctx: dict[str, Any],
    texts: dict[str, list[str]],
    used: set[str],
    target: Message | None,
    first_text: str | None,
) -> dict[str, Any]:
    if kind == "Text":
        if first_text is not None:
            return {"text": _fill(first_text, ctx)}
        if direction == "OutBound":
            pool = texts["agent"]
        else:
            pool = texts[ctx["topic"]] if rng.random() < 0.35 else texts["more"]
        return {"text": _fill(_pick_unused(rng, pool, used), ctx)}
    if kind == "Image":
        return {
            "id": _media_id(rng),
            "link": f"{MEDIA}/images/{_hex(rng)}.jpg",
            "caption": rng.choice(IMAGE_CAPTIONS[direction]),
        }
    if kind == "Video":
        return {
            "id": _media_id(rng),
            "link": f"{MEDIA}/videos/{_hex(rng)}.mp4",
            "caption": rng.choice(VIDEO_CAPTIONS[direction]),
        }
    if kind == "Document":
        if direction == "OutBound":
            name = rng.choice(
                [
                    f"invoice-{at:%Y}-{at:%m%d}.pdf",
                    f"invoice-{at:%Y}-{at:%m%d}.pdf",
                    f"return-label-RMA-{rng.randint(10000, 99999)}.pdf",
                    f"credit-note-CN-{rng.randint(1000, 9999)}.pdf",
                    f"receipt-{ctx['order']}.pdf",
                ]
            )
        else:
            name = rng.choice(
                [f"bank-transfer-{at:%Y%m%d}.pdf", "proof-of-purchase.pdf", f"Nota_Fiscal_{ctx['order']}.pdf", "delivery-note-scan.pdf"]
            )
        return {"id": _media_id(rng), "link": f"{MEDIA}/documents/{_hex(rng)}/{name}", "fileName": name}
    if kind == "Audio":
        return {"id": _media_id(rng), "link": f"{MEDIA}/audio/{_hex(rng)}.ogg"}
    if kind == "Sticker":
        return {"id": _media_id(rng), "link": f"{MEDIA}/stickers/{_hex(rng)}.webp"}
    if kind == "Location":
        _, lat, lon, address = ctx["place"]
        return {
            "latitude": round(lat + rng.uniform(-0.03, 0.03), 6),
            "longitude": round(lon + rng.uniform(-0.03, 0.03), 6),
            "name": rng.choice(LOCATION_NAMES[direction]),
            "address": address,
        }
    if kind == "Reaction":
        assert target is not None
        return {"reaction": rng.choice(REACTIONS[direction]), "messageId": str(target.unique_id)}
    raise ValueError(kind)


def _conversation_messages(
    rng: random.Random,
    *,
    conversation: Conversation,
    person: dict[str, Any],
    campaign_name: str | None,
    last_at: datetime,
    now: datetime,
    unread_run: int,
    inbound_last: bool,
    ctx: dict[str, Any],
) -> list[Message]:
    count = _weighted(rng, list(zip(range(1, 15), MESSAGE_COUNT_WEIGHTS)))
    opener = "OutBound" if campaign_name else "InBound"
    # Room for the unread run (after the campaign's opening message, if any).
    count = max(count, unread_run + (1 if campaign_name else 0))

    directions = [opener]
    for _ in range(1, count):
        previous = directions[-1]
        switch = rng.random() < 0.6
        directions.append(("OutBound" if previous == "InBound" else "InBound") if switch else previous)
    if unread_run:
        directions[count - unread_run :] = ["InBound"] * unread_run
    elif inbound_last and count > (1 if campaign_name else 0):
        directions[-1] = "InBound"

    times = [last_at]
    for _ in range(count - 1):
        times.append(times[-1] - timedelta(seconds=_gap(rng)))
    times.reverse()

    texts = TEXTS[person["lang"]]
    used: set[str] = set()
    messages: list[Message] = []
    failed_budget = 1 if rng.random() < 0.06 else 0
    for i, (direction, at) in enumerate(zip(directions, times)):
        if i == 0:
            kind = "Text"
            first_text = (
                rng.choice(CAMPAIGN_TEXTS[campaign_name]) if campaign_name else _pick_unused(rng, texts[ctx["topic"]], used)
            )
        else:
            kind = _weighted(rng, TYPE_WEIGHTS[direction])
            first_text = None
        others = [m for m in messages if m.direction != direction] or messages
        target = rng.choice(others[-3:]) if kind == "Reaction" and others else None
        if kind == "Reaction" and target is None:
            kind = "Text"
        data = _message_data(rng, kind, direction, at, ctx, texts, used, target, first_text)

        if direction == "InBound":
            status = "Unread" if i >= count - unread_run else "Read"
        else:
            replied = "InBound" in directions[i + 1 :]
            if failed_budget and rng.random() < 0.3:
                status, failed_budget = "Failed", 0
            elif replied:
                status = _weighted(rng, [("Read", 9), ("Delivered", 1)])
            elif (now - at).total_seconds() < 120:
                status = "Sent"
            else:
                status = _weighted(rng, [("Sent", 15), ("Delivered", 35), ("Read", 50)])

        reply_to = None
        if kind == "Text" and i >= 2 and rng.random() < 0.07:
            candidates = [m for m in messages if m.direction != direction]
            if candidates:
                reply_to = rng.choice(candidates).unique_id

        messages.append(
            Message(
                unique_id=_uuid(rng),
                conversation=conversation,
                direction=direction,
                status=status,
                message_type=kind,
                created_at=at,
                message_data=data,
                reply_to=reply_to,
                whatsapp_message_id=_wamid(rng),
            )
        )
    return messages


# --- The seeder ------------------------------------------------------------------------------


def seed(
    *, conversations: int = 240, rng_seed: int = 7, now: datetime | None = None, profile: str = "spec"
) -> dict[str, int]:
    """Replace the sandbox's rows with a reproducible demo data set for a profile; answer the counts."""
    if conversations < 0:
        raise ValueError("conversations must be zero or more")
    now = timezone.now() if now is None else now
    if timezone.is_naive(now):
        now = timezone.make_aware(now, dt_timezone.utc)
    now = now.astimezone(dt_timezone.utc)
    rng = random.Random(rng_seed)

    with transaction.atomic():
        wipe()

        # Roles and members.
        roles = _save(
            Role,
            [Role(unique_id=_uuid(rng), name=n, description=d, permissions=list(p)) for n, d, p in ROLES],
        )
        role_by_name = {r.name: r for r in roles}
        members = _save(
            Member,
            [
                Member(
                    unique_id=_uuid(rng),
                    name=name,
                    email=email,
                    access_level=level,
                    created_at=now - timedelta(days=days, minutes=rng.randint(0, 12 * 60)),
                )
                for name, email, level, _, days, _ in MEMBERS
            ],
        )
        MemberRoles = Member.roles.through
        MemberRoles.objects.bulk_create(
            [
                MemberRoles(member_id=member.pk, role_id=role_by_name[role].pk)
                for member, (_, _, _, role_names, _, _) in zip(members, MEMBERS)
                for role in role_names
            ]
        )
        assignees = [(m, spec[5]) for m, spec in zip(members, MEMBERS)]

        # Tags, campaigns, contact lists.
        tags = _save(Tag, [Tag(unique_id=_uuid(rng), label=label) for label in TAGS])
        tag_by_label = {t.label: t for t in tags}
        campaigns = _save(Campaign, [Campaign(unique_id=_uuid(rng), name=name) for name, _, _ in CAMPAIGNS])
        campaign_weights = [(c, spec[1]) for c, spec in zip(campaigns, CAMPAIGNS)]
        campaign_topics = {c.pk: spec[2] for c, spec in zip(campaigns, CAMPAIGNS)}
        lists = _save(ContactList, [ContactList(unique_id=_uuid(rng), name=name) for name, _ in LISTS])

        # What each conversation is, in exact shares.
        n = conversations
        statuses = _quota(rng, n, [("Active", 0.6), ("Closed", 0.3), ("Deleted", 0.1)])
        from_campaign = _quota(rng, n, [(True, 0.35), (False, 0.65)])
        assigned = _quota(rng, n, [(True, 0.7), (False, 0.3)])
        recency = _quota(rng, n, [(bucket, bucket[0]) for bucket in RECENCY])
        active = [i for i, s in enumerate(statuses) if s == "Active"]
        unread = set(rng.sample(active, round(len(active) * 0.4)))

        people = _contacts(rng, n)
        contacts: list[Contact] = []
        plans: list[dict[str, Any]] = []
        for i, person in enumerate(people):
            _, low, high = recency[i]
            last_at = now - timedelta(seconds=rng.randint(low, high), microseconds=rng.randrange(10**6))
            contacts.append(
                Contact(
                    unique_id=_uuid(rng),
                    name=person["name"],
                    phone=person["phone"],
                    attributes=person["attributes"],
                    created_at=now,  # set once the first message's time is known
                    status=person["status"],
                )
            )
            plans.append({"last_at": last_at, "window": low == 22 * HOUR})

        conversation_rows: list[Conversation] = []
        messages: list[Message] = []
        conversation_tags: list[tuple[Conversation, Tag]] = []
        for i, (person, contact, plan) in enumerate(zip(people, contacts, plans)):
            campaign = _weighted(rng, campaign_weights) if from_campaign[i] else None
            topic = rng.choice(campaign_topics[campaign.pk]) if campaign else _weighted(
                rng, [("order", 3), ("delivery", 4), ("refund", 2), ("billing", 2)]
            )
            factor, money = person["money"]
            ctx = {
                "first": person["first"],
                "order": str(rng.randint(10000, 99999)),
                "product": rng.choice(PRODUCTS),
                "city": person["city"][0],  # for texts; Location messages use "place"
                "place": person["city"],
                "plan": person["attributes"]["plan"],
                "amount": money(round(rng.uniform(9.0, 240.0) * factor, 2)),
                "ref": f"CLM-{rng.randint(100000, 999999)}",
                "renewal": "",
                "topic": topic,
            }
            conversation = Conversation(
                unique_id=_uuid(rng),
                organization_id=ORGANIZATION_ID,
                contact=contact,
                campaign=campaign,
                initiated_by="Campaign" if campaign else "Contact",
                status=statuses[i],
                assigned_to=_weighted(rng, assignees) if assigned[i] else None,
                created_at=now,
                last_activity_at=plan["last_at"],
            )
            unread_run = _weighted(rng, list(zip(range(1, 7), UNREAD_RUN_WEIGHTS))) if i in unread else 0
            ctx["renewal"] = f"{plan['last_at'] + timedelta(days=7):%d %b}"
            chat = _conversation_messages(
                rng,
                conversation=conversation,
                person=person,
                campaign_name=campaign.name if campaign else None,
                last_at=plan["last_at"],
                now=now,
                unread_run=unread_run,
                inbound_last=plan["window"],
                ctx=ctx,
            )
            conversation.created_at = chat[0].created_at
            conversation.last_activity_at = chat[-1].created_at
            if campaign or rng.random() < 0.4:
                contact.created_at = chat[0].created_at - timedelta(seconds=rng.randint(10 * 60, 400 * DAY))
            else:
                contact.created_at = chat[0].created_at - timedelta(seconds=rng.randint(1, 30))
            conversation_rows.append(conversation)
            messages.extend(chat)

            labels: list[str] = []
            for _ in range(_weighted(rng, [(0, 25), (1, 35), (2, 25), (3, 15)])):
                if not labels and rng.random() < 0.6:
                    label = TOPIC_TAG[topic]
                else:
                    label = rng.choice([t for t in TAGS if t not in labels])
                if label not in labels:
                    labels.append(label)
            conversation_tags.extend((conversation, tag_by_label[label]) for label in labels)

        # bulk_create fills contact_id / conversation_id from the objects saved just before.
        _save(Contact, contacts)
        _save(Conversation, conversation_rows)
        Message.objects.bulk_create(messages, batch_size=500)

        Tagging = Conversation.tags.through
        Tagging.objects.bulk_create(
            [Tagging(conversation_id=c.pk, tag_id=t.pk) for c, t in conversation_tags], batch_size=500
        )
        Listing = ContactList.contacts.through
        Listing.objects.bulk_create(
            [
                Listing(contactlist_id=contact_list.pk, contact_id=contact.pk)
                for contact in contacts
                for contact_list, (_, share) in zip(lists, LISTS)
                if rng.random() < share
            ],
            batch_size=500,
        )
        # Its own generator, so that the spec rows above stay the same whatever the profile.
        extras = adapt_for_server(random.Random(f"server-{rng_seed}")) if profile != "spec" else {}

    by_status = {s: statuses.count(s) for s in Conversation.Status.values}
    by_status["Closed"] -= extras.get("resolved", 0)
    return {
        "members": len(members),
        "roles": len(roles) + extras.get("empty_roles", 0),
        "contacts": len(contacts),
        "conversations": n,
        "active": by_status["Active"],
        "closed": by_status["Closed"],
        "deleted": by_status["Deleted"],
        "unread_conversations": len(unread),
        "messages": len(messages),
        "tags": len(tags),
        "campaigns": len(campaigns),
        "contact_lists": len(lists),
        **extras,
    }
