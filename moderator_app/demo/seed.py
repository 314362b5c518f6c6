"""A realistic, deterministic consultation to moderate: about 840 proposals on prison-leavers' jobs.

The corpus is composed from hand-written French building blocks: per theme, many distinct ideas,
each said with a varied opening and an optional complement, so the queue reads like the real
consultation (837 proposals, six themes) rather than a handful of lines repeated. On top of the
acceptable proposals come ones that break each charter clause (and the platform's own submission
rules: HTML, 12 to 140 characters) and a few hostile texts that probe the client's defences.

Everything depends only on `seed` and `now`: the same arguments give the same corpus.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from moderation_hub.wire import IngestProposal

QUESTION_SLUG: Final = "insertion"
QUESTION_TITLE: Final = (
    "Comment améliorer l'insertion professionnelle des personnes condamnées par la justice "
    "(formation, emploi, etc.) ?"
)
QUESTION_LANGUAGE: Final = "fr"
REWRITE_URL_TEMPLATE: Final = (
    "https://consultation.example.org/{question}/propositions/{external_id}/reecrire"
)
DEFAULT_SEED: Final = 837
DEFAULT_COUNT: Final = 840

# The platform's submission form accepts 12 to 140 characters.
MIN_CHARS: Final = 12
MAX_CHARS: Final = 140
# The promise made to authors: a decision within 48 hours.
PROMISE: Final = timedelta(hours=48)

Theme = Literal[
    "Institutionnel",
    "Parcours & Suivi",
    "Dispositifs de travail",
    "Formation",
    "Information & Découverte",
    "Conditions de détention",
]
THEMES: Final[tuple[Theme, ...]] = (
    "Institutionnel",
    "Parcours & Suivi",
    "Dispositifs de travail",
    "Formation",
    "Information & Découverte",
    "Conditions de détention",
)

# What is wrong with a flawed proposal: the charter's clauses, then the platform's form rules.
Flaw = Literal[
    "incomprehensible",
    "off_topic",
    "discriminatory",
    "partisan",
    "advertising",
    "multiple_ideas",
    "insults",
    "wrong_language",
    "abbreviations",
    "near_duplicate",
    "html",
    "too_short",
    "too_long",
    "other",
]
FLAWS: Final[tuple[Flaw, ...]] = (
    "incomprehensible",
    "off_topic",
    "discriminatory",
    "partisan",
    "advertising",
    "multiple_ideas",
    "insults",
    "wrong_language",
    "abbreviations",
    "near_duplicate",
    "html",
    "too_short",
    "too_long",
    "other",
)
# The charter clause (charter/charter.toml) a moderator would cite for each flaw.
CLAUSE_OF_FLAW: Final[dict[Flaw, str]] = {
    "incomprehensible": "incomprehensible",
    "off_topic": "off-topic",
    "discriminatory": "discriminatory-or-illegal",
    "partisan": "partisan",
    "advertising": "advertising",
    "multiple_ideas": "multiple-ideas",
    "insults": "insults",
    "wrong_language": "wrong-language",
    "abbreviations": "hard-to-read",
    "near_duplicate": "duplicate",
    "html": "format",
    "too_short": "format",
    "too_long": "format",
    "other": "other",
}
Kind = Literal["acceptable", "flawed", "hostile"]
LengthClass = Literal["too_short", "normal", "too_long"]


@dataclass(frozen=True)
class SeedProposal:
    """One generated proposal with what the generator meant by it (for tests and the demo)."""

    proposal: IngestProposal
    kind: Kind
    theme: Theme | None
    flaw: Flaw | None
    # For a proposal with a small spelling slip: the text a moderator would correct it to.
    corrected: str | None = None

    @property
    def length_class(self) -> LengthClass:
        return length_class(self.proposal.content)


def length_class(content: str) -> LengthClass:
    size = len(content)
    if size < MIN_CHARS:
        return "too_short"
    if size > MAX_CHARS:
        return "too_long"
    return "normal"


# --- Acceptable proposals: openings, ideas per theme, complements --------------------------------

# Openings followed by an infinitive; the first one dominates, as the form pre-fills it.
_OPENINGS: Final[tuple[tuple[str, int], ...]] = (
    ("Il faut", 60),
    ("Il faudrait", 12),
    ("Il faut absolument", 5),
    ("Il faut vraiment", 4),
    ("Il faut enfin", 3),
    ("Il faut aussi", 3),
    ("Il faut d'abord", 2),
)

_IDEAS: Final[dict[Theme, tuple[str, ...]]] = {
    "Institutionnel": (
        "créer un guichet unique emploi-justice dans chaque département",
        "nommer un référent insertion dans chaque service pénitentiaire",
        "supprimer la mention du casier judiciaire pour les métiers sans risque",
        "raccourcir les délais d'effacement du bulletin n°3 du casier judiciaire",
        "donner un vrai budget aux SPIP pour l'accompagnement vers l'emploi",
        "faire travailler ensemble France Travail et l'administration pénitentiaire",
        "inscrire l'insertion professionnelle dans les objectifs des directeurs de prison",
        "réserver une part des marchés publics aux entreprises qui embauchent des sortants",
        "créer un statut de salarié pour les personnes qui travaillent en détention",
        "mesurer chaque année le taux d'emploi six mois après la sortie",
        "associer les régions, qui financent la formation, au projet de chaque détenu",
        "ouvrir les contrats aidés aux personnes sous main de justice",
        "simplifier les démarches pour obtenir une carte d'identité avant la sortie",
        "ouvrir un compte bancaire à chaque détenu avant sa libération",
        "permettre l'inscription à France Travail avant la date de sortie",
        "créer un conseil local de l'insertion avec élus, juges et employeurs",
        "accorder une aide fiscale aux employeurs qui recrutent une personne sortant de prison",
        "augmenter le nombre de conseillers d'insertion et de probation",
        "faciliter l'accès des détenus aux droits sociaux dès l'incarcération",
        "publier les chiffres de la récidive selon l'accès à un emploi",
        "adapter les horaires des obligations judiciaires aux horaires de travail",
        "permettre aux juges d'aménager plus souvent les peines pour un contrat de travail",
        "garantir un hébergement à la sortie pour pouvoir chercher un emploi",
        "confier à un seul ministère le pilotage de la réinsertion",
        "financer durablement les associations d'aide à la réinsertion",
        "créer une agence nationale du travail pénitentiaire mieux dotée",
        "évaluer les dispositifs existants avant d'en créer de nouveaux",
        "rendre obligatoire un bilan de compétences à l'entrée en détention",
        "donner aux maires un rôle dans l'accueil des sortants de prison",
        "harmoniser les pratiques d'insertion entre les établissements",
    ),
    "Parcours & Suivi": (
        "préparer la sortie dès le premier jour de la détention",
        "désigner un conseiller unique qui suit la personne avant et après la sortie",
        "organiser un rendez-vous avec un employeur avant la libération",
        "prévoir un suivi d'au moins un an après la sortie",
        "construire un projet professionnel avec chaque détenu",
        "accompagner les sortants dans leurs premières semaines en entreprise",
        "mettre en place un parrainage par des salariés bénévoles",
        "proposer un tuteur dans l'entreprise qui embauche",
        "garder le même conseiller pendant toute la peine",
        "tenir un carnet de parcours qui suit la personne d'un établissement à l'autre",
        "développer les placements extérieurs avec un emploi à la clé",
        "multiplier les semi-libertés pour travailler à l'extérieur",
        "favoriser le bracelet électronique pour conserver son emploi",
        "éviter les sorties sèches sans aucune solution d'emploi",
        "aider à la mobilité : permis de conduire et transport vers le travail",
        "prendre en charge les addictions avant de viser un emploi",
        "associer la famille au projet de réinsertion",
        "prévoir des entretiens réguliers avec un psychologue du travail",
        "faciliter le retour dans l'ancien emploi quand c'est possible",
        "accompagner la création d'entreprise après la peine",
        "adapter le suivi aux jeunes de moins de 25 ans",
        "prévoir un accompagnement spécifique pour les femmes détenues",
        "faire un point d'étape tous les trois mois sur le projet professionnel",
        "transmettre le dossier d'insertion au SPIP du lieu de sortie",
        "mettre en relation chaque sortant avec une structure d'insertion proche de chez lui",
        "ne pas interrompre un parcours de formation en cas de transfert",
        "aider à rédiger un CV qui explique sereinement la période de détention",
        "préparer aux entretiens d'embauche par des simulations",
        "offrir un logement temporaire lié à un contrat de travail",
        "suivre les personnes condamnées à des peines courtes, souvent oubliées",
    ),
    "Dispositifs de travail": (
        "développer les chantiers d'insertion ouverts aux personnes sortant de prison",
        "proposer davantage de travail rémunéré en détention",
        "payer le travail en détention au moins au niveau du SMIC horaire",
        "ouvrir des entreprises d'insertion à l'intérieur des établissements",
        "multiplier les ateliers de production avec de vraies commandes d'entreprises",
        "développer le travail d'intérêt général dans les collectivités",
        "créer des contrats de travail qui continuent après la sortie",
        "ouvrir les groupements d'employeurs aux sortants de prison",
        "développer l'intérim d'insertion à la sortie",
        "inciter les grandes entreprises à proposer des postes aux sortants",
        "créer des fermes et des jardins de réinsertion",
        "développer les ressourceries et les ateliers de réparation en détention",
        "proposer des emplois dans le bâtiment où il manque de la main-d'œuvre",
        "valoriser le travail en détention dans le calcul des droits à la retraite",
        "permettre le travail à temps partiel en semi-liberté",
        "ouvrir des restaurants d'application tenus par des détenus",
        "créer des partenariats avec les artisans du territoire",
        "proposer des périodes d'essai encadrées chez des employeurs volontaires",
        "développer les structures d'insertion par l'activité économique près des prisons",
        "faire entrer le numérique dans les ateliers : saisie, maintenance, tests",
        "donner des bulletins de paie pour le travail fait en prison",
        "faire connaître aux employeurs les aides à l'embauche existantes",
        "créer un label pour les entreprises qui recrutent des personnes condamnées",
        "lancer des chantiers de rénovation du patrimoine avec des détenus",
        "confier aux détenus l'entretien des espaces verts des communes voisines",
        "permettre de cumuler un emploi et un aménagement de peine sans perte de droits",
        "ouvrir des coopératives gérées en partie par d'anciens détenus",
        "relancer le travail en cellule quand l'atelier est impossible",
        "proposer des missions courtes et rémunérées dès le début de la peine",
        "développer les clauses sociales dans les marchés des collectivités",
    ),
    "Formation": (
        "proposer des formations qualifiantes dans chaque prison",
        "permettre de passer un CAP pendant la détention",
        "développer l'apprentissage en alternance pour les détenus en fin de peine",
        "lutter contre l'illettrisme avant toute autre formation",
        "donner accès à des cours en ligne sécurisés",
        "former aux métiers qui recrutent : logistique, bâtiment, restauration",
        "valider les acquis de l'expérience obtenus en détention",
        "délivrer des diplômes qui ne mentionnent pas la prison",
        "former au code de la route et au permis en fin de peine",
        "proposer des cours de français langue étrangère",
        "ouvrir des formations aux métiers du numérique",
        "permettre de finir une formation commencée après la sortie",
        "faire venir les centres de formation des apprentis en détention",
        "rémunérer les heures de formation comme des heures de travail",
        "proposer des formations courtes adaptées aux peines de quelques mois",
        "former aux compétences de base : calcul, écrit, informatique",
        "organiser des certifications reconnues comme le CACES",
        "mettre en place des formations aux métiers de l'aide à la personne",
        "encourager la reprise d'études supérieures à distance",
        "former les surveillants à l'accompagnement vers l'emploi",
        "proposer des formations en hygiène et sécurité alimentaire",
        "utiliser le compte personnel de formation pendant la détention",
        "créer des modules de savoir-être professionnel",
        "organiser des formations mixtes avec des stagiaires extérieurs",
        "proposer des stages en entreprise pendant les permissions de sortir",
        "former aux métiers verts : recyclage, énergie, espaces naturels",
        "donner un accès régulier à une bibliothèque et à des ordinateurs",
        "ouvrir des formations de cuisine avec de vrais chefs",
        "financer les formations par la région comme pour tout demandeur d'emploi",
        "évaluer les compétences de chacun à l'arrivée pour orienter la formation",
    ),
    "Information & Découverte": (
        "organiser des forums de l'emploi à l'intérieur des prisons",
        "faire venir des chefs d'entreprise pour présenter leurs métiers",
        "informer chaque détenu de ses droits en matière de formation",
        "créer un site qui recense les employeurs prêts à recruter",
        "sensibiliser les employeurs aux préjugés sur les anciens détenus",
        "diffuser des témoignages de personnes qui ont réussi leur réinsertion",
        "organiser des visites d'entreprises pendant les permissions",
        "faire découvrir des métiers par des courtes immersions",
        "présenter les aides à l'embauche aux petites entreprises",
        "informer les familles sur les dispositifs d'insertion",
        "mettre à disposition des fiches métiers dans chaque bibliothèque",
        "organiser des job datings avec des employeurs locaux",
        "expliquer aux employeurs ce que contient vraiment le casier judiciaire",
        "lancer une campagne nationale pour changer le regard sur les sortants",
        "faire intervenir d'anciens détenus devenus salariés",
        "créer une plateforme d'offres d'emploi accessible en détention",
        "faire connaître les métiers en tension aux détenus",
        "organiser des rencontres avec les chambres de métiers",
        "informer sur la création d'entreprise et le statut d'auto-entrepreneur",
        "publier un guide simple des démarches à faire à la sortie",
        "diffuser des vidéos de présentation des métiers sur le canal interne",
        "former les recruteurs à l'entretien avec un candidat sortant de prison",
        "expliquer les démarches pour demander l'effacement d'une condamnation",
        "organiser des portes ouvertes des centres de formation pour les détenus",
        "associer les médias locaux à des réussites d'insertion",
        "faire connaître les entreprises d'insertion aux juges",
        "mettre en place des ateliers de découverte de l'entrepreneuriat",
        "informer les détenus étrangers sur leurs droits au travail",
        "afficher les offres d'emploi du bassin dans les lieux de vie",
        "faire un annuaire des associations qui accompagnent vers l'emploi",
    ),
    "Conditions de détention": (
        "réduire la surpopulation pour permettre des activités",
        "généraliser l'encellulement individuel pour pouvoir étudier au calme",
        "garantir l'accès à un téléphone pour les démarches d'emploi",
        "aménager des salles de formation dignes de ce nom",
        "préserver le sommeil et l'hygiène pour tenir un rythme de travail",
        "permettre un accès encadré à internet pour chercher un emploi",
        "rapprocher les détenus de leur bassin d'emploi",
        "garder les liens familiaux qui aident à se réinsérer",
        "donner accès au sport pour garder une bonne santé",
        "améliorer l'accès aux soins, notamment dentaires et psychiatriques",
        "proposer des activités le week-end pour éviter l'oisiveté",
        "respecter la dignité pour redonner confiance en soi",
        "permettre de garder ses papiers et ses diplômes en lieu sûr",
        "adapter les horaires de promenade aux horaires d'atelier",
        "équiper les cellules d'un bureau pour travailler",
        "limiter les transferts qui cassent les parcours de formation",
        "donner aux détenus un pécule de sortie suffisant",
        "permettre les visites d'employeurs au parloir",
        "développer les unités de vie familiale",
        "rénover les ateliers vétustes",
        "prévoir des quartiers de préparation à la sortie",
        "lutter contre la violence qui empêche de suivre les activités",
        "assurer une alimentation correcte pour tenir une journée de travail",
        "donner des vêtements adaptés aux entretiens d'embauche",
        "garantir le calme dans les quartiers de formation",
        "améliorer l'accès aux cantines à prix raisonnables",
        "faciliter l'accès au courrier pour les candidatures",
        "ouvrir plus de places en centres de semi-liberté",
        "prévoir des espaces pour les entretiens avec les conseillers",
        "installer des bornes pour consulter son dossier et ses droits",
    ),
}

# Complements that fit any idea (purpose, scope, urgency), then a few that fit any idea of a theme.
_GENERIC_COMPLEMENTS: Final[tuple[str, ...]] = (
    ", c'est une priorité",
    " pour réduire la récidive",
    " dans tous les départements",
    ", partout en France",
    ", sans attendre",
    ", y compris dans les petites prisons",
    ", et en faire le bilan au bout d'un an",
)
_COMPLEMENTS: Final[dict[Theme, tuple[str, ...]]] = {
    "Institutionnel": (
        ", avec des moyens à la hauteur",
        ", comme cela se fait déjà dans d'autres pays",
        " sans attendre une nouvelle loi",
    ),
    "Parcours & Suivi": (
        ", personne par personne",
        ", surtout pour les plus jeunes",
        " pour que personne ne sorte sans solution",
    ),
    "Dispositifs de travail": (
        ", en lien avec les entreprises locales",
        ", dès les premiers mois de la peine",
        " pour reprendre un rythme de travail",
    ),
    "Formation": (
        ", même pour les courtes peines",
        " en lien avec les besoins du territoire",
        " pour sortir avec un vrai métier",
    ),
    "Information & Découverte": (
        ", dans un langage simple",
        ", y compris en dehors des grandes villes",
        " avant la fin de la peine",
    ),
    "Conditions de détention": (
        ", sinon aucune insertion n'est possible",
        " pour préparer sérieusement la sortie",
        ", c'est la première condition",
    ),
}

# Roughly the weight of each theme in the real analysis.
_THEME_WEIGHTS: Final[dict[Theme, int]] = {
    "Institutionnel": 16,
    "Parcours & Suivi": 19,
    "Dispositifs de travail": 18,
    "Formation": 20,
    "Information & Découverte": 14,
    "Conditions de détention": 13,
}

# A second sentence shape: the goal first, then the idea.
_GOALS: Final[dict[Theme, tuple[str, ...]]] = {
    "Institutionnel": (
        "Pour que les institutions travaillent enfin ensemble",
        "Pour ne plus perdre des mois en démarches",
        "Pour que la loi suive sur le terrain",
    ),
    "Parcours & Suivi": (
        "Pour que la sortie ne soit pas un saut dans le vide",
        "Pour éviter la récidive",
        "Pour ne laisser personne sans solution",
    ),
    "Dispositifs de travail": (
        "Pour reprendre le rythme du travail",
        "Pour gagner honnêtement sa vie",
        "Pour que les employeurs voient ce que les gens savent faire",
    ),
    "Formation": (
        "Pour trouver un emploi à la sortie",
        "Pour que le temps de la peine serve à quelque chose",
        "Pour avoir un métier entre les mains",
    ),
    "Information & Découverte": (
        "Pour changer le regard des employeurs",
        "Pour que chacun connaisse ses droits",
        "Pour donner envie d'un métier",
    ),
    "Conditions de détention": (
        "Pour pouvoir se former correctement",
        "Pour garder l'envie de s'en sortir",
        "Pour préparer la sortie dans de bonnes conditions",
    ),
}

# Small spelling slips a moderator may correct before accepting.
_TYPOS: Final[tuple[tuple[str, str], ...]] = (
    ("professionnel", "profesionnel"),
    ("formation", "formtion"),
    ("entreprise", "entrepise"),
    ("détention", "detention"),
    ("employeurs", "employeur"),
    ("accompagnement", "acompagnement"),
    ("personnes", "persones"),
    ("insertion", "insertions"),
)

# --- Flawed proposals, one family per charter clause or form rule --------------------------------

_FLAWED: Final[dict[Flaw, tuple[str, ...]]] = {
    "incomprehensible": (
        "Il faut le la pour quand emploi sortie voilà",
        "Il faut que formation oui mais quand prison alors travail non",
        "Il faut faire les choses comme ça et pas comme l'autre truc",
        "Il faut ce qu'il faut pour ceux qui font ce qu'ils font",
        "Il faut sortir dedans pour rentrer dehors avec le travail",
        "Il faut que les machin aient les trucs du bidule",
        "Il faut donc voilà quoi enfin vous voyez ce que je veux dire",
        "Il faut insertion emploi formation justice prison sortie",
        "Il faut le bon faire au bon du moment pour les",
    ),
    "off_topic": (
        "Il faut baisser le prix de l'essence à la pompe",
        "Il faut plus de pistes cyclables dans ma ville",
        "Il faut interdire les trottinettes électriques sur les trottoirs",
        "Il faut rouvrir la maternité de notre sous-préfecture",
        "Il faut planter des arbres dans toutes les cours d'école",
        "Il faut supprimer le changement d'heure",
        "Il faut réduire le nombre de devoirs à la maison au collège",
        "Il faut rendre les transports en commun gratuits le dimanche",
        "Il faut que la cantine propose un menu végétarien chaque jour",
    ),
    "discriminatory": (
        "Il faut réserver les formations aux détenus nés en France",
        "Il faut interdire tout emploi aux étrangers condamnés",
        "Il faut refuser les femmes dans les ateliers, elles n'y ont pas leur place",
        "Il faut faire justice soi-même avec ceux qui sortent de prison",
        "Il faut ficher publiquement tous les anciens détenus avec leur adresse",
        "Il faut trier les détenus selon leur religion pour les formations",
        "Il faut que les employeurs puissent refuser un candidat pour son origine",
        "Il faut les laisser pourrir, ces gens-là ne changent jamais",
    ),
    "partisan": (
        "Il faut voter pour le Parti du Progrès aux prochaines élections",
        "Il faut chasser le ministre actuel qui a tout raté",
        "Il faut suivre le programme du Mouvement Citoyen sur les prisons",
        "Il faut que le maire de ma ville démissionne, il ne fait rien",
        "Il faut rejeter toute l'idéologie de ce gouvernement incompétent",
        "Il faut soutenir notre candidate, la seule qui comprend les prisons",
        "Il faut que la religion guide enfin la politique pénale",
        "Il faut sanctionner ce parti aux élections pour ses lois sur la justice",
    ),
    "advertising": (
        "Il faut que tous les détenus suivent la formation FormaPlus, la meilleure du marché",
        "Il faut acheter les outils BricoMax pour équiper les ateliers, -20% ce mois-ci",
        "Il faut appeler le 01 23 45 67 89 pour nos formations garanties",
        "Il faut s'inscrire sur www.jobexpress.example pour trouver un emploi en 24 h",
        "Il faut commander les uniformes chez TextiPro, livraison gratuite",
        "Il faut utiliser l'application CVmagique, premier mois offert",
        "Il faut choisir l'intérim Rapido, le leader de l'emploi en France",
        "Il faut découvrir ma méthode de coaching à 49 € sur mon site",
    ),
    "insults": (
        "Il faut arrêter de payer pour ces délinquants, bande de parasites",
        "Il faut virer ces incapables du ministère, tous des nuls",
        "Il faut que les juges arrêtent d'être des idiots laxistes",
        "Il faut dire aux conseillers du SPIP qu'ils sont des fainéants",
        "Il faut arrêter cette consultation débile pour les racailles",
        "Il faut que les surveillants cessent d'être des brutes stupides",
        "Il faut fermer vos gueules et les mettre au travail",
        "Il faut traiter ces minables comme ils le méritent",
    ),
    "wrong_language": (
        "We should offer vocational training in every prison",
        "Prisoners need real jobs with a real salary after release",
        "Man sollte mehr Ausbildungsplätze für Strafgefangene schaffen",
        "Hay que ofrecer más formación profesional en las cárceles",
        "Bisogna creare più lavoro per i detenuti dopo la pena",
        "We need a single job counsellor for each person leaving prison",
        "É preciso dar formação profissional a todos os presos",
        "Er moeten meer stageplaatsen komen voor ex-gedetineerden",
    ),
    "abbreviations": (
        "Il faut + de form° ds les MA pr les PPSMJ stp",
        "Il faut des CIP au SPIP pr ts les DPS asap",
        "Il faut taf + formation direct a la sortie lol",
        "Il faut #emploi #prison @ministere mdr",
        "Il faut ++ stages => CDI pr les sortants !!!",
        "Il faut 1 job ac 1 contrat pr chq sortant, tkt",
        "Il faut rdv FT + CV avt la lib, jsp pk c pas fait",
        "Il faut des TIG en QPV vs QHS, cf. rapport CGLPL",
    ),
    "multiple_ideas": (),  # composed from two acceptable ideas
    "near_duplicate": (),  # composed from an acceptable proposal
    "html": (
        "Il faut <strong>plus</strong> de formations qualifiantes",
        'Il faut des stages, voir <a href="https://example.org">ce lien</a>',
        "Il faut<br>des ateliers<br>rémunérés",
        "<p>Il faut un référent emploi dans chaque prison</p>",
        "Il faut des formations &nbsp; reconnues &amp; payées",
        "Il faut des chantiers d'insertion <!-- vraiment -->",
        "<div style='color:red'>Il faut des CAP en détention</div>",
        "Il faut des <em>vraies</em> formations &lt;qualifiantes&gt;",
    ),
    "too_short": (
        "Emploi !",
        "Formation",
        "Il faut.",
        "Travail",
        "Oui",
        "Du boulot",
        "Il faut ça",
        "?",
    ),
    "too_long": (),  # composed from an acceptable proposal and a personal story
    "other": (
        "Test test test, merci de ne pas publier",
        "Il faut tester la plateforme, ceci est un essai",
        "Il faut embaucher mon fils Kevin Dupont, appelez le 06 12 34 56 78",
        "Il faut que M. Jean Martin, 12 rue des Lilas à Melun, sorte plus tôt",
        "essai de dépôt numéro 2 pour voir si ça marche",
        "Il faut aider mon voisin Paul Durand qui sort de Fresnes en mars",
        "Test de la consultation par l'équipe projet",
        "Il faut vérifier que ce formulaire fonctionne bien",
    ),
}

_TOO_LONG_TAILS: Final[tuple[str, ...]] = (
    " Je le dis parce que j'ai moi-même vu un proche sortir de prison sans rien, sans "
    "logement, sans travail, et recommencer les mêmes erreurs au bout de quelques mois.",
    " Quand on sort de détention on n'a ni réseau, ni argent, ni papiers à jour, et sans "
    "accompagnement sérieux on se retrouve très vite à la rue, ce qui n'aide personne.",
    " Je travaille depuis quinze ans comme conseillère d'insertion et je vois tous les jours "
    "des personnes motivées qui abandonnent faute de solution concrète au bon moment.",
    " Les entreprises de mon secteur cherchent des bras et seraient prêtes à former, à "
    "condition d'être soutenues et de connaître les candidats avant leur sortie.",
)

# --- Hostile texts: valid for ingest, dangerous to display or to mail naively ------------------


@dataclass(frozen=True)
class _Hostile:
    content: str
    first_name: str
    flaw: Flaw | None
    reachable: bool = False


_HOSTILE: Final[tuple[_Hostile, ...]] = (
    # Right-to-left override: displayed naively, the end of the line reads backwards.
    _Hostile("Il faut \u202enoitamrof al\u202c pour tous les détenus", "Sami", None),
    _Hostile("Il faut plus d'ateliers \u2067بالعربية\u2069 et en français", "Yasmina", None),
    # Zero-width characters hidden inside words (defeats naive duplicate detection).
    _Hostile(
        "Il\u200b faut\u200b des\u200b formations\u200c qualifiantes\u200d en\ufeff prison",
        "Lucas",
        "near_duplicate",
    ),
    _Hostile("<b>Il faut</b> plus de <i>stages</i> en entreprise", "Chloé", "html"),
    _Hostile("<script>alert('x')</script>Il faut des formations", "Hugo", "html"),
    _Hostile(
        "Il faut des ateliers\r\nBcc: victime@example.org\r\n\r\nen détention",
        "Inès",
        None,
        reachable=True,
    ),
    # A first name that would add a header if put in a mail naively; the author is reachable.
    _Hostile(
        "Il faut un accompagnement vers l'emploi après la sortie",
        "Bob\r\nBcc: x@example.org",
        None,
        reachable=True,
    ),
    _Hostile(
        "Il faut des stages en entreprise pendant la peine",
        '<img src=x onerror="alert(1)">Zoé',
        None,
        reachable=True,
    ),
    _Hostile("Il faut des formations {{ config }} {% raw %} en détention", "Jinja", None),
    _Hostile("\x1b[31mIl faut\x1b[0m des chantiers d'insertion\x07", "Terminal", None),
    _Hostile("Il faut des formations e\u0301lectricite\u0301 et plomberie 👷‍♀️🔧", "Émilie", None),
    _Hostile("Il faut voir [ici](javascript:alert(1)) pour les formations", "Markdown", "html"),
    _Hostile("Il faut un emploi à la sortie", "\u202eAnnie", None, reachable=True),
    _Hostile("Il faut un emploi stable pour chaque sortant", "", None),
    _Hostile("Il faut une formation pour chacun", "Jean-" + "Baptiste-" * 20 + "Marie", None),
    # Very long: within the hub's limit but far over the form's 140 characters.
    _Hostile(
        "Il faut " + "vraiment, " * 900 + "des formations.",
        "Insistant",
        "too_long",
    ),
)

# --- Authors -----------------------------------------------------------------------------------

_FIRST_NAMES: Final[tuple[str, ...]] = (
    "Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Emma", "Jade", "Louise", "Zoé",
    "Lucie", "Anaïs", "Clara", "Julie", "Margaux", "Océane", "Yasmine", "Fatou", "Aïcha",
    "Nadia", "Sophie", "Isabelle", "Nathalie", "Sandrine", "Valérie", "Christine", "Martine",
    "Françoise", "Monique", "Hélène", "Céline", "Amandine", "Élodie", "Aurélie", "Mélanie",
    "Thomas", "Lucas", "Hugo", "Nathan", "Théo", "Louis", "Jules", "Enzo", "Maxime", "Antoine",
    "Nicolas", "Julien", "Sébastien", "Laurent", "Philippe", "Pierre", "Jean", "Michel",
    "Patrick", "Christophe", "Frédéric", "Olivier", "Stéphane", "David", "Karim", "Mohamed",
    "Mehdi", "Rachid", "Youssef", "Moussa", "Mamadou", "Ibrahim", "Kevin", "Dylan", "Romain",
    "Alexandre", "Guillaume", "François", "Benoît", "Gaëlle", "Maëlle", "Noémie", "Agathe",
    "Thi Lan", "Minh", "Kofi", "Aylin", "Dragan", "Siobhan", "Jérôme", "Didier", "Bernard",
    "Yvonne", "Gérard", "Josiane", "Rémi", "Loïc", "Erwan", "Soizic", "Malik", "Samia",
)  # fmt: skip

_LAST_NAMES: Final[tuple[str, ...]] = (
    "martin", "bernard", "dubois", "thomas", "robert", "richard", "petit", "durand", "leroy",
    "moreau", "simon", "laurent", "lefebvre", "michel", "garcia", "david", "bertrand", "roux",
    "vincent", "fournier", "morel", "girard", "andre", "mercier", "dupont", "lambert", "bonnet",
    "francois", "martinez", "legrand", "garnier", "faure", "rousseau", "blanc", "guerin",
    "muller", "henry", "roussel", "nicolas", "perrin", "diallo", "benali", "nguyen", "traore",
    "haddad", "kone", "lopez", "le-gall", "kerbrat", "da-silva",
)  # fmt: skip

_COUNTRIES: Final[tuple[tuple[str | None, int], ...]] = (
    ("FR", 92),
    ("BE", 2),
    ("CH", 1),
    (None, 5),
)


@dataclass(frozen=True)
class _Author:
    first_name: str
    email: str | None
    reachable: bool
    country: str | None


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in "-."))
    return kept.lower()


def _make_authors(rng: random.Random, count: int) -> list[_Author]:
    authors: list[_Author] = []
    seen: set[str] = set()
    while len(authors) < count:
        first = rng.choice(_FIRST_NAMES)
        last = rng.choice(_LAST_NAMES)
        local = rng.choice(
            (
                f"{_ascii(first)}.{last}",
                f"{_ascii(first)[0]}.{last}",
                f"{_ascii(first)}{last}{rng.randint(1, 99)}",
                f"{_ascii(first)}.{last}{rng.randint(1950, 2005)}",
            )
        ).replace(" ", "")
        if local in seen:
            continue
        seen.add(local)
        roll = rng.random()
        email: str | None = None if roll < 0.03 else f"{local}@example.org"
        # About one author in seven never confirmed their address: no mail may go to them.
        reachable = email is not None and rng.random() >= 0.14
        country = rng.choices([c for c, _ in _COUNTRIES], weights=[w for _, w in _COUNTRIES], k=1)[
            0
        ]
        authors.append(_Author(first, email, reachable, country))
    return authors


# --- Composition -------------------------------------------------------------------------------


def _opening(rng: random.Random) -> str:
    return rng.choices([o for o, _ in _OPENINGS], weights=[w for _, w in _OPENINGS], k=1)[0]


def _sentence(opening: str, idea: str, complement: str) -> str:
    return f"{opening} {idea}{complement}."


def _acceptable_candidates(rng: random.Random, theme: Theme) -> list[str]:
    """Distinct sentences for the theme, each idea used once per pass in a varied shape.

    Taking a prefix of the result spreads the proposals evenly over the theme's ideas.
    """
    complements = [*_GENERIC_COMPLEMENTS, *_COMPLEMENTS[theme]]
    seen: set[str] = set()
    ordered: list[str] = []
    for pass_number in range(8):
        texts: list[str] = []
        for idea in _IDEAS[theme]:
            shape = rng.random()
            if pass_number == 0:
                text = _sentence(_opening(rng), idea, "")
            elif shape < 0.82:
                text = _sentence(_opening(rng), idea, rng.choice(complements))
            elif shape < 0.94:
                text = f"{rng.choice(_GOALS[theme])}, il faut {idea}."
            else:
                text = f"Pourquoi ne pas {idea} ?"
            texts.append(text)
        rng.shuffle(texts)
        for text in texts:
            if MIN_CHARS <= len(text) <= MAX_CHARS and text not in seen:
                seen.add(text)
                ordered.append(text)
    return ordered


def _with_typo(rng: random.Random, text: str) -> str:
    candidates = [(right, wrong) for right, wrong in _TYPOS if right in text]
    if not candidates:
        return text
    right, wrong = rng.choice(candidates)
    return text.replace(right, wrong, 1)


def _split_quota(total: int, weights: dict[Theme, int]) -> dict[Theme, int]:
    weight_sum = sum(weights.values())
    quota = {theme: total * weight // weight_sum for theme, weight in weights.items()}
    remainder = total - sum(quota.values())
    for theme in THEMES[:remainder]:
        quota[theme] += 1
    return quota


def _near_duplicate(rng: random.Random, text: str) -> str:
    bare = text.rstrip(".?! ")
    variants = (
        text.replace("Il faut", "Il faudrait", 1),
        bare + " !!",
        text.lower(),
        text.replace("Il faut", "Je pense qu'il faut", 1),
        bare + ", c'est essentiel.",
    )
    changed = [v for v in variants if v != text and len(v) <= MAX_CHARS]
    return rng.choice(changed) if changed else text + " (bis)"


@dataclass(frozen=True)
class _Draft:
    content: str
    kind: Kind
    theme: Theme | None
    flaw: Flaw | None
    first_name: str | None = None  # hostile drafts bring their own author name
    reachable: bool | None = None
    corrected: str | None = None


FLAWED_PER_FAMILY: Final = 8


def _flawed_drafts(rng: random.Random, acceptable: Sequence[_Draft]) -> list[_Draft]:
    drafts: list[_Draft] = []
    for flaw in FLAWS:
        texts: list[str]
        if flaw == "multiple_ideas":
            texts = []
            while len(texts) < FLAWED_PER_FAMILY:
                first_theme, second_theme = rng.sample(THEMES, 2)
                first = rng.choice(_IDEAS[first_theme])
                second = rng.choice(_IDEAS[second_theme])
                joined = f"Il faut {first}, et aussi {second}."
                if len(joined) <= MAX_CHARS and joined not in texts:
                    texts.append(joined)
        elif flaw == "near_duplicate":
            texts = [
                _near_duplicate(rng, d.content) for d in rng.sample(acceptable, FLAWED_PER_FAMILY)
            ]
        elif flaw == "too_long":
            texts = [
                d.content + rng.choice(_TOO_LONG_TAILS)
                for d in rng.sample(acceptable, FLAWED_PER_FAMILY)
            ]
        else:
            texts = list(_FLAWED[flaw][:FLAWED_PER_FAMILY])
        drafts.extend(_Draft(text, "flawed", None, flaw) for text in texts)
    return drafts


def _created_at(rng: random.Random, now: datetime) -> datetime:
    # Most proposals are within the 48 h promise; about one in seven is already late.
    late = rng.random() < 0.14
    hours = rng.uniform(48.5, 6 * 24) if late else rng.triangular(0.1, 47.5, 2.0)
    return (now - timedelta(hours=hours)).replace(microsecond=0)


def build_corpus(
    now: datetime,
    *,
    count: int = DEFAULT_COUNT,
    seed: int = DEFAULT_SEED,
    question: str = QUESTION_SLUG,
) -> list[SeedProposal]:
    """The demo consultation: `count` proposals, oldest first, identical for identical arguments.

    `now` must be timezone-aware; creation times spread over the six days before it.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    rng = random.Random(seed)  # noqa: S311 -- reproducible demo data, not a secret
    fixed = len(FLAWS) * FLAWED_PER_FAMILY + len(_HOSTILE)
    acceptable_total = count - fixed
    if acceptable_total < 6 * 10:
        raise ValueError(f"count must be at least {fixed + 60}")

    acceptable: list[_Draft] = []
    for theme, quota in _split_quota(acceptable_total, _THEME_WEIGHTS).items():
        candidates = _acceptable_candidates(rng, theme)
        if quota > len(candidates):
            raise ValueError(f"not enough distinct ideas for {quota} proposals on {theme}")
        for text in candidates[:quota]:
            slipped = _with_typo(rng, text) if rng.random() < 0.06 else text
            corrected = text if slipped != text else None
            acceptable.append(_Draft(slipped, "acceptable", theme, None, corrected=corrected))

    drafts = acceptable + _flawed_drafts(rng, acceptable)
    drafts += [
        _Draft(h.content, "hostile", None, h.flaw, first_name=h.first_name, reachable=h.reachable)
        for h in _HOSTILE
    ]
    rng.shuffle(drafts)

    # Fewer authors than proposals: some people wrote several.
    authors = _make_authors(rng, max(1, count * 3 // 4))
    stamped = sorted(((_created_at(rng, now), d) for d in drafts), key=lambda pair: pair[0])
    corpus: list[SeedProposal] = []
    for number, (created_at, draft) in enumerate(stamped, start=1):
        author = rng.choice(authors)
        first_name = author.first_name if draft.first_name is None else draft.first_name
        reachable = author.reachable if draft.reachable is None else draft.reachable
        email = author.email
        if reachable and email is None:
            email = f"auteur{number}@example.org"
        proposal = IngestProposal(
            external_id=f"insertion-{number:04d}",
            question=question,
            content=draft.content,
            author_first_name=first_name,
            author_email=email,
            author_reachable=reachable,
            language=QUESTION_LANGUAGE,
            country=author.country,
            created_at=created_at,
        )
        corpus.append(
            SeedProposal(proposal, draft.kind, draft.theme, draft.flaw, corrected=draft.corrected)
        )
    return corpus


def ingest_models(corpus: Iterable[SeedProposal]) -> list[IngestProposal]:
    """The hub's ingest models of a corpus, in order."""
    return [item.proposal for item in corpus]
