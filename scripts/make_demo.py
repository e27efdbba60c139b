"""Write the bundled demo project, a support-ticket intent project (seeded, deterministic).

A Label Studio project in which 8 annotators sort about 3,000 customer-support tickets of
"Kestrel" (a made-up smart-home company) into six intents and rate their urgency, over
eight working weeks, with a story planted for labelcheck to find (see
``labelcheck/demo/README.md``, which quotes the parameters below):

a. Billing and Refund are confused by everyone, because guideline v1 says "Tickets about
   money charged to the customer are Billing" and refund requests are about money
   charged too; tickets that mention a charge are confused most.
b. Annotator ``CONTRARIAN`` reads that sentence the other way round: most refund
   requests are Billing to them.
c. Annotator ``CARELESS`` is wrong far more often, on every class, and very fast.
d. Guideline v2 is published at ``REVISION`` (about 55% into the time span): from then
   on everyone confuses Billing and Refund much less, and the contrarian partly
   corrects.
e. Phone-call transcripts (``channel = phone``) are harder for everyone.
f. Work happens on weekdays, 08:00-12:00 and 13:00-17:00 Berlin time (CET, then CEST
   from 2025-03-30), with Good Friday and Easter Monday off.

Outputs in ``--out`` (default ``labelcheck/demo``): ``support_tickets.json`` (the Label
Studio JSON export), ``label_config.xml``, ``annotators.json`` (user id -> e-mail and
name: exports carry ids only) and ``truth.csv`` (the generator's true intent and urgency
per task: nothing Label Studio has).  The guidelines and the README beside them are
written by hand.  Running it twice gives identical files.

Run from the repository root: ``python scripts/make_demo.py [--out DIR]``.
"""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

SEED = 20250303
OUT = Path(__file__).resolve().parent.parent / "labelcheck" / "demo"
EXPORT_NAME = "support_tickets.json"
N_TASKS = 3000
PROJECT = 7
FIRST_TASK_ID = 20417
FIRST_ANNOTATION_ID = 41873
FIRST_TICKET = 48210
START = date(2025, 3, 3)  # a Monday; eight weeks of work
N_WEEKS = 8
HOLIDAYS = (date(2025, 4, 18), date(2025, 4, 21))  # Good Friday, Easter Monday
DST_START = date(2025, 3, 30)  # Berlin: UTC+1 before, UTC+2 from this day
#: Guideline v2 published (the planted revision).
REVISION = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)

INTENTS = ("Billing", "Refund", "Technical issue", "Account access", "Shipping", "Legal complaint")
BILLING, REFUND, TECHNICAL, ACCOUNT, SHIPPING, LEGAL = range(6)
INTENT_P = np.array([0.21, 0.21, 0.23, 0.15, 0.17, 0.03])
CHANNELS = ("email", "chat", "web form", "phone")
CHANNEL_P = np.array([0.38, 0.30, 0.18, 0.14])
LANGUAGES = ("en", "de", "fr", "es")
LANGUAGE_P = np.array([0.58, 0.22, 0.12, 0.08])

#: Label Studio user id -> (e-mail, name, share of tasks, base error, speed factor).
ANNOTATORS = {
    4: ("amara.okafor@kestrel-labels.example", "Amara Okafor", 1.0, 0.04, 1.0),
    5: ("jonas.weber@kestrel-labels.example", "Jonas Weber", 1.0, 0.04, 1.1),
    7: ("lucia.fernandez@kestrel-labels.example", "Lucía Fernández", 0.9, 0.045, 0.9),
    9: ("chloe.martin@kestrel-labels.example", "Chloé Martin", 1.0, 0.04, 1.0),
    11: ("priya.raman@kestrel-labels.example", "Priya Raman", 0.8, 0.045, 1.2),
    12: ("tomasz.nowak@kestrel-labels.example", "Tomasz Nowak", 0.6, 0.045, 1.0),
    15: ("mei.chen@kestrel-labels.example", "Mei Chen", 1.0, 0.05, 0.25),
    18: ("daniel.osei@kestrel-labels.example", "Daniel Osei", 0.9, 0.05, 1.3),
}
CONTRARIAN = 9
CARELESS = 15
CARELESS_ERROR = 0.42
NEWCOMER = 18  # joins on the Monday of week 3
NEWCOMER_FROM_DAY = 10
#: P(Refund read as Billing) for the contrarian: before / after the revision.
CONTRARIAN_SWAP = (0.95, 0.45)
#: P(Billing -> Refund), P(Refund -> Billing) for everyone else: before / after.
PAIR_SWAP = ((0.14, 0.24), (0.03, 0.04))
#: Swap multipliers: tickets that mention a charge / tickets that do not.
MENTIONS_CHARGE_FACTOR, NO_CHARGE_FACTOR = 1.5, 0.5
PHONE_ERROR_FACTOR = 2.6  # generic error on phone transcripts
PHONE_SWAP_FACTOR = 1.4
#: Where an annotator's generic error lands, per true intent (weights; careless: uniform).
NEIGHBOURS = np.array([
    [0, 4, 1, 2, 1, 1],
    [4, 0, 0.5, 0.5, 3, 1.5],
    [0.5, 0.5, 0, 4, 1, 0.3],
    [1, 0.3, 4, 0, 0.3, 0.5],
    [0.5, 3, 1, 0.3, 0, 0.3],
    [1, 3, 0.5, 1, 0.5, 0],
])
N_ANNOTATORS_P = {3: 0.5, 4: 0.3, 5: 0.2}
N_SINGLE = 12  # the last tasks released: one annotation so far
N_CANCELLED = 16
URGENCY_BASE = np.array([1.8, 2.2, 2.4, 2.9, 2.2, 3.4])
URGENCY_SD = {"default": 0.45, CARELESS: 1.1}

WORK_BLOCKS = ((8 * 3600, 12 * 3600), (13 * 3600, 17 * 3600))  # local time, seconds
DAY_SECONDS = sum(b - a for a, b in WORK_BLOCKS)
MEAN_DELAY = 4 * 3600.0  # work seconds from release to an annotation

# --- ticket texts -----------------------------------------------------------------
# Per language and intent: (template, mentions_a_charge).
BODIES: dict[str, tuple[tuple[tuple[str, bool], ...], ...]] = {
    "en": (
        (("I was charged {amount} on {date}, but my {plan} plan should cost less than that. Can you explain what this charge is for?", True),
         ("Where can I download the invoice for {month}? Our accounts team needs it with our VAT number on it.", False),
         ("I'd like to change the card used for my {plan} subscription. The card ending in {last4} expires at the end of the month.", False),
         ("My bill went up from {amount2} to {amount} this month and I never got a notice about a price change. Why am I being charged more?", True),
         ("Please switch my {plan} plan from monthly to annual billing and tell me what the prorated amount will be.", False),
         ("The payment for invoice {invoice} failed, but there is enough money on the card. Can you try it again?", False),
         ("There is a charge of {amount} from KESTREL*PLUS on my card statement and I don't know what it is for. Which plan does it belong to?", True)),
        (("I sent the {product} back two weeks ago (order {order}) and I still haven't received my refund of {amount}.", False),
         ("I was charged twice for order {order}. Please refund the second payment of {amount}.", True),
         ("I cancelled my {plan} subscription on {date} but was still charged {amount} the next day. I want that money back.", True),
         ("The {product} arrived broken. I don't want a replacement, I want my money back.", False),
         ("You told me the refund would take 5-7 days; it has been three weeks. When will the {amount} be back on my card?", False),
         ("I was charged {amount} for an upgrade I never asked for. Please reverse the charge.", True)),
        (("The {product} keeps dropping off the Wi-Fi every few minutes since the last firmware update.", False),
         ("The Kestrel app crashes as soon as I open the live view on my {device}.", False),
         ("My {product} won't pair with the hub, the status light just keeps blinking orange.", False),
         ("Notifications stopped working after I updated the app to version {version}.", False),
         ("The {product} shows error {code} when I try to set up a schedule.", False),
         ("Recordings from the {product} are missing between 2 and 4 am every night.", False)),
        (("I can't log in. The app says my password is wrong and the reset email never arrives.", False),
         ("My account was locked after too many attempts. Please unlock it, I need to check my cameras.", False),
         ("I got a new phone and lost my two-factor codes. How do I get back into my account?", False),
         ("Someone changed the email address on my account to {email} without my permission.", False),
         ("I no longer have access to the email address I signed up with. Can you move my account to a new one?", False)),
        (("My order {order} was supposed to arrive on {date} but the tracking hasn't changed in four days.", False),
         ("The parcel shows as delivered, but nothing was left at my door.", False),
         ("Can I still change the delivery address for order {order}? I'm moving next week.", False),
         ("Do you ship to {country}, and how long does delivery usually take?", False),
         ("{carrier} left my package at the wrong address, the photo shows a door that isn't mine.", False),
         ("Only one of the two items from order {order} arrived.", False)),
        (("This is a formal complaint. You kept charging me {amount} after I cancelled, and I will take this to the consumer protection authority if it is not resolved within 14 days.", True),
         ("Under the GDPR I request a copy of all personal data you hold about me, and the deletion of my camera recordings.", False),
         ("Your two-year warranty is not being honoured for my {product}. My lawyer has advised me to put this complaint in writing.", False),
         ("I was never told that my address was exposed in your data breach. I am filing a complaint with the data protection authority.", False)),
    ),
    "de": (
        (("Mir wurden am {date} {amount} abgebucht, obwohl mein {plan}-Tarif weniger kostet. Wofür ist diese Abbuchung?", True),
         ("Wo finde ich die Rechnung für {month}? Unsere Buchhaltung braucht sie mit unserer USt-IdNr.", False),
         ("Ich möchte die Karte für mein {plan}-Abo ändern. Die Karte mit der Endung {last4} läuft Ende des Monats ab.", False),
         ("Meine Rechnung ist von {amount2} auf {amount} gestiegen, ohne dass ich über eine Preisänderung informiert wurde. Warum wird mir mehr berechnet?", True),
         ("Die Zahlung für Rechnung {invoice} ist fehlgeschlagen, obwohl die Karte gedeckt ist. Können Sie es noch einmal versuchen?", False)),
        (("Ich habe meine Bestellung {order} ({product}) vor zwei Wochen zurückgeschickt und noch keine Erstattung über {amount} erhalten.", False),
         ("Mir wurde die Bestellung {order} doppelt abgebucht. Bitte erstatten Sie die zweite Zahlung über {amount}.", True),
         ("Ich habe mein {plan}-Abo am {date} gekündigt, trotzdem wurden am nächsten Tag {amount} abgebucht. Ich möchte das Geld zurück.", True),
         ("Das Paket mit {product} kam kaputt an. Ich möchte keinen Ersatz, sondern mein Geld zurück.", False)),
        (("Mein Gerät ({product}) verliert seit dem letzten Firmware-Update alle paar Minuten die WLAN-Verbindung.", False),
         ("Die Kestrel-App stürzt ab, sobald ich auf meinem {device} die Live-Ansicht öffne.", False),
         ("Seit dem Update auf Version {version} bekomme ich keine Benachrichtigungen mehr.", False),
         ("Beim Einrichten eines Zeitplans zeigt {product} den Fehler {code} an.", False)),
        (("Ich kann mich nicht anmelden. Die App sagt, mein Passwort sei falsch, und die E-Mail zum Zurücksetzen kommt nie an.", False),
         ("Mein Konto wurde nach zu vielen Versuchen gesperrt. Bitte entsperren Sie es.", False),
         ("Ich habe ein neues Handy und keinen Zugriff mehr auf die Zwei-Faktor-Codes. Wie komme ich wieder in mein Konto?", False),
         ("Jemand hat die E-Mail-Adresse meines Kontos ohne mein Wissen auf {email} geändert.", False)),
        (("Meine Bestellung {order} sollte am {date} ankommen, aber die Sendungsverfolgung hat sich seit vier Tagen nicht bewegt.", False),
         ("Das Paket wird als zugestellt angezeigt, aber bei mir ist nichts angekommen.", False),
         ("Kann ich die Lieferadresse für Bestellung {order} noch ändern? Ich ziehe nächste Woche um.", False),
         ("{carrier} hat mein Paket an der falschen Adresse abgegeben.", False)),
        (("Hiermit reiche ich eine förmliche Beschwerde ein. Sie haben nach meiner Kündigung weiter {amount} abgebucht; wenn das nicht innerhalb von 14 Tagen geklärt ist, schalte ich die Verbraucherzentrale ein.", True),
         ("Gemäß Art. 15 DSGVO verlange ich Auskunft über alle zu meiner Person gespeicherten Daten und die Löschung meiner Kameraaufnahmen.", False),
         ("Sie verweigern die Gewährleistung für mein Gerät ({product}). Mein Anwalt hat mir geraten, diese Beschwerde schriftlich einzureichen.", False)),
    ),
    "fr": (
        (("On m'a prélevé {amount} le {date}, alors que mon abonnement {plan} devrait coûter moins cher. À quoi correspond ce prélèvement ?", True),
         ("Où puis-je télécharger la facture de {month} ? Notre comptabilité en a besoin avec notre numéro de TVA.", False),
         ("Je voudrais changer la carte utilisée pour mon abonnement {plan}. La carte se terminant par {last4} expire à la fin du mois.", False),
         ("Ma facture est passée de {amount2} à {amount} ce mois-ci sans qu'on m'ait prévenu d'un changement de prix.", True),
         ("Le paiement de la facture {invoice} a échoué alors que ma carte est approvisionnée. Pouvez-vous réessayer ?", False)),
        (("J'ai renvoyé ma commande {order} ({product}) il y a deux semaines et je n'ai toujours pas reçu le remboursement de {amount}.", False),
         ("La commande {order} m'a été débitée deux fois. Merci de rembourser le second paiement de {amount}.", True),
         ("J'ai résilié mon abonnement {plan} le {date} mais j'ai quand même été prélevé de {amount} le lendemain. Je veux être remboursé.", True),
         ("Le colis avec {product} est arrivé cassé. Je ne veux pas d'échange, je veux être remboursé.", False)),
        (("Mon appareil ({product}) perd la connexion Wi-Fi toutes les quelques minutes depuis la dernière mise à jour.", False),
         ("L'application Kestrel plante dès que j'ouvre la vue en direct sur mon {device}.", False),
         ("Je ne reçois plus de notifications depuis la mise à jour vers la version {version}.", False),
         ("{product} affiche l'erreur {code} quand j'essaie de créer un planning.", False)),
        (("Impossible de me connecter : l'application dit que mon mot de passe est incorrect et l'e-mail de réinitialisation n'arrive jamais.", False),
         ("Mon compte est bloqué après trop de tentatives. Pouvez-vous le débloquer ?", False),
         ("J'ai changé de téléphone et perdu mes codes de double authentification. Comment récupérer mon compte ?", False),
         ("Quelqu'un a remplacé l'adresse e-mail de mon compte par {email} sans mon accord.", False)),
        (("Ma commande {order} devait arriver le {date} mais le suivi n'a pas bougé depuis quatre jours.", False),
         ("Le colis est indiqué comme livré mais je n'ai rien reçu.", False),
         ("Puis-je encore modifier l'adresse de livraison de la commande {order} ? Je déménage la semaine prochaine.", False),
         ("{carrier} a déposé mon colis à la mauvaise adresse.", False)),
        (("Ceci est une réclamation formelle. Vous avez continué à me prélever {amount} après ma résiliation ; sans solution sous 14 jours, je saisirai la DGCCRF.", True),
         ("Conformément au RGPD, je demande une copie de toutes les données personnelles me concernant et la suppression de mes enregistrements vidéo.", False),
         ("Vous refusez d'appliquer la garantie légale pour mon appareil ({product}). Mon avocat m'a conseillé de vous adresser cette réclamation par écrit.", False)),
    ),
    "es": (
        (("El {date} me cobraron {amount}, pero mi plan {plan} debería costar menos. ¿A qué corresponde este cargo?", True),
         ("¿Dónde puedo descargar la factura de {month}? Nuestro departamento de contabilidad la necesita con nuestro NIF.", False),
         ("Quiero cambiar la tarjeta de mi suscripción {plan}. La tarjeta que termina en {last4} caduca a final de mes.", False),
         ("Mi factura pasó de {amount2} a {amount} este mes y nadie me avisó de un cambio de precio.", True),
         ("El pago de la factura {invoice} ha fallado, aunque la tarjeta tiene saldo. ¿Pueden intentarlo de nuevo?", False)),
        (("Devolví el pedido {order} ({product}) hace dos semanas y todavía no he recibido el reembolso de {amount}.", False),
         ("Me cobraron dos veces el pedido {order}. Por favor, devuélvanme el segundo pago de {amount}.", True),
         ("Cancelé mi suscripción {plan} el {date} y aun así me cobraron {amount} al día siguiente. Quiero que me devuelvan el dinero.", True),
         ("El paquete con {product} llegó roto. No quiero un cambio, quiero que me devuelvan el dinero.", False)),
        (("Mi dispositivo ({product}) pierde la conexión wifi cada pocos minutos desde la última actualización.", False),
         ("La app de Kestrel se cierra en cuanto abro la vista en directo en mi {device}.", False),
         ("Desde que actualicé a la versión {version} no me llegan las notificaciones.", False),
         ("{product} muestra el error {code} cuando intento crear una programación.", False)),
        (("No puedo iniciar sesión: la app dice que la contraseña es incorrecta y el correo para restablecerla nunca llega.", False),
         ("Mi cuenta se bloqueó tras demasiados intentos. ¿Pueden desbloquearla?", False),
         ("Cambié de móvil y perdí los códigos de verificación en dos pasos. ¿Cómo recupero mi cuenta?", False),
         ("Alguien cambió el correo de mi cuenta a {email} sin mi permiso.", False)),
        (("Mi pedido {order} tenía que llegar el {date}, pero el seguimiento no se ha movido en cuatro días.", False),
         ("El paquete figura como entregado, pero no he recibido nada.", False),
         ("¿Puedo cambiar todavía la dirección de entrega del pedido {order}? Me mudo la semana que viene.", False),
         ("{carrier} dejó mi paquete en una dirección equivocada.", False)),
        (("Esto es una reclamación formal. Siguieron cobrándome {amount} después de cancelar; si no se resuelve en 14 días, acudiré a la oficina de consumo.", True),
         ("De acuerdo con el RGPD, solicito una copia de todos mis datos personales y la eliminación de mis grabaciones.", False),
         ("No están respetando la garantía de mi dispositivo ({product}). Mi abogado me ha aconsejado presentar esta reclamación por escrito.", False)),
    ),
}

#: Per language: the words around a ticket body, by channel.
FRAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "greeting": ("Hello,", "Hi there,", "Dear Kestrel support,", "Good morning,"),
        "closing": ("Best regards,", "Thanks,", "Kind regards,", "Cheers,"),
        "names": ("Sarah Miller", "James O'Brien", "Emily Clarke", "Michael Brown", "Olivia Hughes", "David Lee"),
        "chat": ("hi", "hello", "hey", "hi there,"),
        "form": ("Subject", "Message"),
        "subjects": ("Question about my invoice|Charge on my account|Payment method",
                     "Refund request|Money back|Refund not received",
                     "Device problem|App not working|Connection issue",
                     "Can't log in|Account locked|Access to my account",
                     "Where is my order?|Delivery problem|Change delivery address",
                     "Formal complaint|Data protection request|Complaint"),
        "generic_subjects": ("Help needed", "Question", "Order {order}", "Urgent"),
        "call": ("Call transcript", "Agent", "Customer"),
        "agent_open": ("Kestrel support, this is {agent}, how can I help?", "Thanks for calling Kestrel, you're speaking with {agent}."),
        "filler": ("Yeah, hi, um,", "Hi, so basically", "Hello, yes, uh,", "Right, so"),
        "agent_follow": ("Okay, let me pull up your account.", "I see. Can you confirm your email address?", "Understood, one moment please."),
        "customer_end": ("Sure, it's the one on the account.", "Okay, thanks.", "Yes, that's me."),
        "aside": ("Oh and the app was slow last week, but that's fine now.", "I also waited ages for the delivery last time, anyway.",
                  "And I had to reset my password twice, but whatever.", "The bill is a separate thing, I'll sort that out later."),
        "extra": ("I've been a customer for three years.", "This is the second time I'm writing about this.",
                  "Thanks in advance."),
        "urgent": ("This is urgent, please help today.", "Please treat this as urgent.", "I need this sorted today."),
        "months": ("January", "February", "March", "April"),
        "date": "{month} {day}",
        "devices": ("iPhone", "Android phone", "iPad", "Pixel 8"),
        "carriers": ("UPS", "FedEx", "Royal Mail"),
        "countries": ("Canada", "Ireland", "Norway", "Australia"),
    },
    "de": {
        "greeting": ("Hallo,", "Guten Tag,", "Sehr geehrte Damen und Herren,", "Liebes Kestrel-Team,"),
        "closing": ("Viele Grüße", "Mit freundlichen Grüßen", "Danke und Gruß", "Beste Grüße"),
        "names": ("Anna Schmidt", "Lukas Becker", "Sabine Hoffmann", "Felix Wagner", "Katrin Neumann"),
        "chat": ("hallo", "hi", "guten tag,"),
        "form": ("Betreff", "Nachricht"),
        "subjects": ("Frage zur Rechnung|Abbuchung|Zahlungsart",
                     "Erstattung|Geld zurück|Erstattung nicht erhalten",
                     "Gerät funktioniert nicht|App-Problem|Verbindungsproblem",
                     "Anmeldung nicht möglich|Konto gesperrt|Zugang zum Konto",
                     "Wo bleibt meine Bestellung?|Lieferproblem|Lieferadresse ändern",
                     "Förmliche Beschwerde|Datenschutzanfrage|Beschwerde"),
        "generic_subjects": ("Bitte um Hilfe", "Frage", "Bestellung {order}", "Dringend"),
        "call": ("Gesprächsprotokoll", "Mitarbeiter", "Kunde"),
        "agent_open": ("Kestrel-Kundenservice, mein Name ist {agent}, was kann ich für Sie tun?", "Kestrel, Sie sprechen mit {agent}, guten Tag."),
        "filler": ("Ja, hallo, ähm,", "Hallo, also,", "Guten Tag, ja, äh,"),
        "agent_follow": ("Einen Moment, ich schaue mir Ihr Konto an.", "Verstehe. Können Sie mir Ihre E-Mail-Adresse bestätigen?"),
        "customer_end": ("Ja, die im Konto hinterlegte.", "Okay, danke."),
        "aside": ("Die App war letzte Woche auch langsam, aber das geht jetzt wieder.", "Die letzte Lieferung hat auch ewig gedauert, egal.",
                  "Mein Passwort musste ich auch zweimal zurücksetzen, na ja.", "Die Rechnung ist eine andere Sache, das kläre ich später."),
        "extra": ("Ich bin seit drei Jahren Kunde.", "Ich schreibe deswegen schon zum zweiten Mal.",
                  "Vielen Dank im Voraus."),
        "urgent": ("Das ist dringend, bitte melden Sie sich heute noch.", "Bitte dringend bearbeiten."),
        "months": ("Januar", "Februar", "März", "April"),
        "date": "{day}. {month}",
        "devices": ("iPhone", "Android-Handy", "iPad"),
        "carriers": ("DHL", "Hermes", "DPD"),
        "countries": ("Österreich", "die Schweiz"),
    },
    "fr": {
        "greeting": ("Bonjour,", "Madame, Monsieur,", "Bonjour le support Kestrel,"),
        "closing": ("Cordialement,", "Merci d'avance,", "Bien à vous,"),
        "names": ("Camille Dubois", "Julien Moreau", "Sophie Laurent", "Nicolas Petit"),
        "chat": ("bonjour", "salut,", "bonjour,"),
        "form": ("Objet", "Message"),
        "subjects": ("Question sur ma facture|Prélèvement|Moyen de paiement",
                     "Demande de remboursement|Remboursement non reçu",
                     "Problème d'appareil|L'application ne marche pas|Problème de connexion",
                     "Connexion impossible|Compte bloqué|Accès à mon compte",
                     "Où est ma commande ?|Problème de livraison|Changer l'adresse de livraison",
                     "Réclamation formelle|Demande RGPD|Réclamation"),
        "generic_subjects": ("Besoin d'aide", "Question", "Commande {order}", "Urgent"),
        "call": ("Transcription d'appel", "Conseiller", "Client"),
        "agent_open": ("Support Kestrel, {agent} à l'appareil, que puis-je faire pour vous ?", "Kestrel bonjour, vous êtes en ligne avec {agent}."),
        "filler": ("Oui, bonjour, euh,", "Bonjour, alors voilà,", "Oui, alors,"),
        "agent_follow": ("D'accord, je regarde votre compte.", "Je vois. Pouvez-vous me confirmer votre adresse e-mail ?"),
        "customer_end": ("Oui, celle du compte.", "D'accord, merci."),
        "aside": ("L'application était lente la semaine dernière aussi, mais ça va mieux.", "La dernière livraison a aussi pris une éternité, bref.",
                  "J'ai aussi dû réinitialiser mon mot de passe deux fois, enfin bon.", "La facture, c'est une autre histoire, je verrai plus tard."),
        "extra": ("Je suis client depuis trois ans.", "C'est la deuxième fois que j'écris à ce sujet.",
                  "Merci d'avance."),
        "urgent": ("C'est urgent, merci de me répondre aujourd'hui.", "Merci de traiter ceci en urgence."),
        "months": ("janvier", "février", "mars", "avril"),
        "date": "{day} {month}",
        "devices": ("iPhone", "téléphone Android", "iPad"),
        "carriers": ("Colissimo", "Chronopost", "DPD"),
        "countries": ("la Belgique", "la Suisse"),
    },
    "es": {
        "greeting": ("Hola,", "Buenos días,", "Estimado equipo de Kestrel:"),
        "closing": ("Saludos,", "Un saludo,", "Gracias de antemano,"),
        "names": ("Lucía García", "Javier Martínez", "Carmen López", "Pablo Sánchez"),
        "chat": ("hola", "buenas,", "hola,"),
        "form": ("Asunto", "Mensaje"),
        "subjects": ("Consulta sobre mi factura|Cargo en mi cuenta|Método de pago",
                     "Solicitud de reembolso|Reembolso no recibido",
                     "Problema con el dispositivo|La app no funciona|Problema de conexión",
                     "No puedo iniciar sesión|Cuenta bloqueada|Acceso a mi cuenta",
                     "¿Dónde está mi pedido?|Problema de entrega|Cambiar dirección de entrega",
                     "Reclamación formal|Solicitud RGPD|Reclamación"),
        "generic_subjects": ("Necesito ayuda", "Consulta", "Pedido {order}", "Urgente"),
        "call": ("Transcripción de llamada", "Agente", "Cliente"),
        "agent_open": ("Soporte de Kestrel, le atiende {agent}, ¿en qué puedo ayudarle?", "Kestrel, buenos días, habla con {agent}."),
        "filler": ("Sí, hola, eh,", "Hola, a ver,", "Buenas, sí, mire,"),
        "agent_follow": ("De acuerdo, reviso su cuenta.", "Entiendo. ¿Me confirma su correo electrónico?"),
        "customer_end": ("Sí, el de la cuenta.", "Vale, gracias."),
        "aside": ("La app también iba lenta la semana pasada, pero ya va bien.", "El último envío también tardó muchísimo, en fin.",
                  "También tuve que restablecer la contraseña dos veces, en fin.", "Lo de la factura es otra cosa, ya lo miraré."),
        "extra": ("Soy cliente desde hace tres años.", "Es la segunda vez que escribo por esto.",
                  "Gracias de antemano."),
        "urgent": ("Es urgente, por favor respondan hoy.", "Por favor, trátenlo con urgencia."),
        "months": ("enero", "febrero", "marzo", "abril"),
        "date": "{day} de {month}",
        "devices": ("iPhone", "móvil Android", "iPad"),
        "carriers": ("Correos", "SEUR", "MRW"),
        "countries": ("Portugal", "Andorra"),
    },
}
#: The intent each phone-call aside (FRAMES[...]["aside"]) touches on, in order.
ASIDE_INTENTS = (TECHNICAL, SHIPPING, ACCOUNT, BILLING)
#: A body starting with one of these words keeps its capital after a chat greeting.
KEEP_CAPITAL = ("I", "I'd", "I've", "I'm", "UPS", "FedEx", "Royal", "DHL", "Hermes", "DPD",
                "Colissimo", "Chronopost", "Correos", "SEUR", "MRW")
PRODUCTS = ("Kestrel Cam 2", "Kestrel Doorbell", "Kestrel Hub", "Kestrel Smart Plug",
            "Kestrel Motion Sensor", "Kestrel Thermostat")
PLANS = ("Kestrel Plus", "Kestrel Plus Family", "Kestrel Basic")
PRICES = (4.99, 9.99, 14.99, 19.99, 49.99, 89.0, 129.0, 179.99, 249.0)
AGENTS = ("Sam", "Nora", "Ben", "Lea", "Marco")


@dataclass
class Task:
    """One ticket while it is being generated (``index`` 0-based; ids derive from it)."""

    index: int
    intent: int
    channel: str
    language: str
    release: float  # work seconds since START
    difficulty: float
    latent_urgency: float
    text: str = ""
    mentions_charge: bool = False
    annotations: list[dict] = field(default_factory=list)


# --- calendar ---------------------------------------------------------------------
def workdays() -> list[date]:
    days = (START + timedelta(days=d) for d in range(7 * N_WEEKS))
    return [d for d in days if d.weekday() < 5 and d not in HOLIDAYS]


WORKDAYS = workdays()
TOTAL_WORK = len(WORKDAYS) * DAY_SECONDS


def wall_clock(work: float) -> datetime:
    """UTC time of ``work`` seconds into the project's working hours."""
    day, s = divmod(work, DAY_SECONDS)
    d = WORKDAYS[int(day)]
    (a1, b1), (a2, _) = WORK_BLOCKS
    local = a1 + s if s < b1 - a1 else a2 + (s - (b1 - a1))
    offset = 2 if d >= DST_START else 1
    return datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(seconds=local - offset * 3600)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pick(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return options[int(rng.integers(len(options)))]


# --- texts ------------------------------------------------------------------------
def ticket_text(rng: np.random.Generator, task: Task) -> tuple[str, bool]:
    """The ticket's text and whether it mentions a charge.  An urgency cue added to the
    text raises the task's latent urgency (annotators see the cue)."""
    lang = FRAMES[task.language]
    templates = BODIES[task.language][task.intent]
    template, charge = templates[int(rng.integers(len(templates)))]
    when = wall_clock(task.release).date() - timedelta(days=int(rng.integers(2, 12)))
    price = PRICES[int(rng.integers(len(PRICES)))]
    lower = PRICES[max(0, PRICES.index(price) - 1 - int(rng.integers(2)))]
    slots = {
        "amount": money(price, task.language, rng), "amount2": money(lower, task.language, rng),
        "date": lang["date"].format(day=when.day, month=lang["months"][when.month - 1]),
        "month": lang["months"][when.month - 2], "order": f"KS-{rng.integers(100000, 999999)}",
        "invoice": f"INV-2025-{rng.integers(10000, 99999)}", "last4": f"{rng.integers(0, 10000):04d}",
        "product": pick(rng, PRODUCTS), "plan": pick(rng, PLANS), "device": pick(rng, lang["devices"]),
        "version": f"4.{rng.integers(2, 9)}.{rng.integers(0, 12)}", "code": f"E{rng.integers(100, 999)}",
        "carrier": pick(rng, lang["carriers"]), "country": pick(rng, lang["countries"]),
        "email": f"user{rng.integers(1000, 99999)}@mailbox.example",
    }
    body = template.format(**slots)
    if rng.random() < 0.35:
        body += " " + pick(rng, lang["extra"])
    if task.latent_urgency > 3.0 and rng.random() < 0.7:
        body += " " + pick(rng, lang["urgent"])
        task.latent_urgency += 0.3
    keep = body.split()[0] in KEEP_CAPITAL or body.startswith("Kestrel")
    said = body if keep else body[0].lower() + body[1:]  # after a chat or call opener
    colon = " : " if task.language == "fr" else ": "  # French puts a space before a colon
    if task.channel == "email":
        text = (f"{pick(rng, lang['greeting'])}\n\n{body}\n\n"
                f"{pick(rng, lang['closing'])}\n{pick(rng, lang['names'])}")
    elif task.channel == "chat":
        text = f"{pick(rng, lang['chat'])} {said}"
    elif task.channel == "web form":
        if rng.random() < 0.4:
            subject = pick(rng, lang["generic_subjects"]).format(order=slots["order"])
        else:
            subject = pick(rng, lang["subjects"][task.intent].split("|"))
        label_subject, label_message = lang["form"]
        text = f"{label_subject}{colon}{subject}\n{label_message}{colon}{body}"
    else:
        title, agent, customer = lang["call"]
        minutes, seconds = int(rng.integers(1, 9)), int(rng.integers(0, 60))
        said = f"{pick(rng, lang['filler'])} {said}"
        if rng.random() < 0.6:  # an aside about another topic: why calls are harder
            asides = [a for a, k in zip(lang["aside"], ASIDE_INTENTS, strict=True) if k != task.intent]
            said += " " + pick(rng, asides)
        text = (f"{title} ({minutes}:{seconds:02d})\n"
                f"{agent}{colon}{pick(rng, lang['agent_open']).format(agent=pick(rng, AGENTS))}\n"
                f"{customer}{colon}{said}\n{agent}{colon}{pick(rng, lang['agent_follow'])}\n"
                f"{customer}{colon}{pick(rng, lang['customer_end'])}")
    return text, charge


def money(amount: float, language: str, rng: np.random.Generator) -> str:
    if language == "en":
        return f"{'$' if rng.random() < 0.6 else '£'}{amount:.2f}"
    return f"{amount:.2f}".replace(".", ",") + " €"


# --- answers ----------------------------------------------------------------------
def intent_answer(rng: np.random.Generator, task: Task, who: int, before: bool) -> int:
    """The intent annotator ``who`` chooses (the planted story lives here)."""
    truth = task.intent
    phone = task.channel == "phone"
    if truth in (BILLING, REFUND):
        if who == CONTRARIAN:
            swap = CONTRARIAN_SWAP[0 if before else 1] if truth == REFUND else 0.02
        else:
            swap = PAIR_SWAP[0 if before else 1][truth]
            swap *= MENTIONS_CHARGE_FACTOR if task.mentions_charge else NO_CHARGE_FACTOR
            swap *= PHONE_SWAP_FACTOR if phone else 1.0
        if rng.random() < swap:
            return REFUND if truth == BILLING else BILLING
    if who == CARELESS:
        error = min(0.8, CARELESS_ERROR * (1.3 if phone else 1.0))
        weights = np.ones(len(INTENTS))
    else:
        phone_factor = PHONE_ERROR_FACTOR if phone else 1.0
        error = min(0.6, ANNOTATORS[who][3] * task.difficulty * phone_factor)
        weights = NEIGHBOURS[truth].astype(float)
    if rng.random() >= error:
        return truth
    weights[truth] = 0.0
    return int(rng.choice(len(INTENTS), p=weights / weights.sum()))


def urgency_answer(rng: np.random.Generator, task: Task, who: int) -> int:
    sd = URGENCY_SD.get(who, URGENCY_SD["default"])
    return min(4, max(1, round(task.latent_urgency + float(rng.normal(0.0, sd)))))


def result_ids(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` random 10-character result ids, as Label Studio's front end makes them."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
    chars = "".join(alphabet[i] for i in rng.integers(0, 64, 10 * n).tolist())
    return [chars[10 * k:10 * k + 10] for k in range(n)]


# --- the project ------------------------------------------------------------------
def build_tasks(rng: np.random.Generator) -> list[Task]:
    intents = rng.choice(len(INTENTS), size=N_TASKS, p=INTENT_P)
    channels = rng.choice(len(CHANNELS), size=N_TASKS, p=CHANNEL_P)
    languages = rng.choice(len(LANGUAGES), size=N_TASKS, p=LANGUAGE_P)
    difficulty = rng.lognormal(0.0, 0.5, N_TASKS) / np.exp(0.125)
    urgency = URGENCY_BASE[intents] + rng.normal(0.0, 0.55, N_TASKS)
    span = TOTAL_WORK - DAY_SECONDS
    release = np.sort(rng.random(N_TASKS)) * span
    tasks = [Task(i, int(intents[i]), CHANNELS[channels[i]], LANGUAGES[languages[i]],
                  float(release[i]), float(difficulty[i]), float(urgency[i]))
             for i in range(N_TASKS)]
    for task in tasks:
        task.text, task.mentions_charge = ticket_text(rng, task)
    return tasks


def annotate(rng: np.random.Generator, tasks: list[Task]) -> None:
    """Assign annotators and answers; annotation ids follow submission order."""
    ids = list(ANNOTATORS)
    share = np.array([ANNOTATORS[a][2] for a in ids])
    newcomer_from = NEWCOMER_FROM_DAY * DAY_SECONDS
    sizes, size_p = list(N_ANNOTATORS_P), np.array(list(N_ANNOTATORS_P.values()))
    cancelled = set(rng.choice(N_TASKS - N_SINGLE, size=N_CANCELLED, replace=False).tolist())
    pending: list[tuple[float, Task, dict]] = []
    for task in tasks:
        n = 1 if task.index >= N_TASKS - N_SINGLE else int(rng.choice(sizes, p=size_p))
        weights = share * np.array([a != NEWCOMER or task.release >= newcomer_from for a in ids])
        chosen = rng.choice(len(ids), size=n + 1, replace=False, p=weights / weights.sum())
        who_list = [ids[j] for j in chosen[:n]]
        if task.index in cancelled:
            who_list.append(ids[chosen[n]])
        for k, who in enumerate(who_list):
            skipped = k == n
            work = task.release + float(rng.exponential(MEAN_DELAY))
            if work >= TOTAL_WORK:
                work = TOTAL_WORK - float(rng.uniform(60, 3600))
            created = wall_clock(work)
            created = created.replace(microsecond=int(rng.integers(0, 10**6)))
            speed = ANNOTATORS[who][4]
            reading = 8.0 + len(task.text) / 14.0
            if skipped:
                result: list[dict] = []
                lead = round(float(rng.uniform(2.0, 9.0)), 3)
            else:
                intent = intent_answer(rng, task, who, created < REVISION)
                rating = urgency_answer(rng, task, who)
                id_intent, id_urgency = result_ids(rng, 2)
                result = [
                    {"value": {"choices": [INTENTS[intent]]}, "id": id_intent, "from_name": "intent",
                     "to_name": "text", "type": "choices"},
                    {"value": {"rating": rating}, "id": id_urgency, "from_name": "urgency",
                     "to_name": "text", "type": "rating"},
                ]
                lead = round(float(reading * speed * rng.lognormal(0.0, 0.45)), 3)
            updated = created + timedelta(milliseconds=int(rng.integers(5, 60)))
            pending.append((created.timestamp(), task, {
                "id": 0, "completed_by": who, "result": result, "was_cancelled": skipped,
                "ground_truth": False, "created_at": iso(created), "updated_at": iso(updated),
                "lead_time": lead, "task": FIRST_TASK_ID + task.index, "project": PROJECT,
            }))
    pending.sort(key=lambda d: (d[0], d[1].index))
    for k, (_, task, ann) in enumerate(pending):
        ann["id"] = FIRST_ANNOTATION_ID + k
        task.annotations.append(ann)


def task_records(rng: np.random.Generator, tasks: list[Task]) -> list[dict]:
    records = []
    ticket = FIRST_TICKET
    for task in tasks:
        ticket += int(rng.integers(1, 40))
        week = int(task.release // (5 * DAY_SECONDS))
        imported = wall_clock(week * 5 * DAY_SECONDS) - timedelta(hours=1, minutes=2, seconds=week * 7)
        imported += timedelta(microseconds=137 * task.index)  # one bulk import per week
        annotations = sorted(task.annotations, key=lambda a: a["id"])
        done = [a for a in annotations if not a["was_cancelled"]]
        records.append({
            "id": FIRST_TASK_ID + task.index,
            "annotations": annotations,
            "file_upload": f"{0x3f2a91c0 + week:08x}-tickets_week{week + 1:02d}.json",
            "drafts": [], "predictions": [],
            "data": {"ticket_id": f"KS-T{ticket}", "text": task.text, "channel": task.channel,
                     "language": task.language, "text_length": len(task.text)},
            "meta": {},
            "created_at": iso(imported),
            "updated_at": max(a["updated_at"] for a in annotations),
            "inner_id": task.index + 1,
            "total_annotations": len(done),
            "cancelled_annotations": len(annotations) - len(done),
            "total_predictions": 0, "project": PROJECT,
        })
    return records


LABEL_CONFIG = """<View>
  <Header value="Read the ticket, choose its intent and rate its urgency (see the instructions)."/>
  <View style="display: flex; gap: 1em; color: #555">
    <Text name="ticket_id" value="$ticket_id"/>
    <Text name="channel" value="$channel"/>
    <Text name="language" value="$language"/>
  </View>
  <Text name="text" value="$text"/>
  <Choices name="intent" toName="text" choice="single" showInline="false" required="true">
    <Choice value="Billing"/>
    <Choice value="Refund"/>
    <Choice value="Technical issue"/>
    <Choice value="Account access"/>
    <Choice value="Shipping"/>
    <Choice value="Legal complaint"/>
  </Choices>
  <Header value="Urgency: 1 can wait, 2 normal, 3 today, 4 drop everything"/>
  <Rating name="urgency" toName="text" maxRating="4" icon="star" size="medium" required="true"/>
</View>
"""


def write(out: Path, records: list[dict], tasks: list[Task]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / EXPORT_NAME, "w", encoding="utf-8", newline="\n") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records))
        f.write("\n]\n")
    (out / "label_config.xml").write_text(LABEL_CONFIG, encoding="utf-8", newline="\n")
    people = {str(a): {"email": v[0], "name": v[1]} for a, v in ANNOTATORS.items()}
    (out / "annotators.json").write_text(json.dumps(people, ensure_ascii=False, indent=2) + "\n",
                                         encoding="utf-8", newline="\n")
    with open(out / "truth.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["task_id", "intent", "urgency", "mentions_charge"])
        for task in tasks:
            urgency = int(np.clip(np.rint(task.latent_urgency), 1, 4))
            writer.writerow([FIRST_TASK_ID + task.index, INTENTS[task.intent], urgency,
                             int(task.mentions_charge)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(SEED)
    tasks = build_tasks(rng)
    annotate(rng, tasks)
    records = task_records(rng, tasks)
    write(args.out, records, tasks)
    n_ann = sum(len(r["annotations"]) for r in records)
    print(f"wrote {args.out}: {len(records)} tasks, {n_ann} annotations")


if __name__ == "__main__":
    main()
