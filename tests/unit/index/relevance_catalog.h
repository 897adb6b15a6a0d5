/*
 * The hand-written catalog of the relevance suite (tests/unit/index/search.c): 52 products, as
 * JSON Lines in the product format of API.md, built to probe one ranking rule each:
 *
 *   - Vietnamese minimal pairs that fold to the same key: Cà/Cá, Đậu/Dâu/Dầu, Bò/Bơ/Bó, Cháo/Chảo,
 *     chó/cho, mè/mẹ, thể/The, and a trap that holds both halves of a pair ("Bơ lạt bò ăn cỏ");
 *   - old and new tone placement (Hoà / hòa, thuỷ / thủy, Thuý / thúy) and one NFD-encoded name
 *     (PAN-NUOCMAM: the combining marks are spelled out as \xcc\x.. escapes);
 *   - a phrase ("bánh mì chà bông") whose syllables also appear scattered in other products;
 *   - names that start with the query word ("Gạo ST25") or have it later ("Bánh gạo");
 *   - brands, categories, tags and descriptions that carry a word the name lacks;
 *   - typo targets ("banana", "mozzarella") and prefix targets ("Cà chua", "Sữa tươi").
 *
 * One product a line; clang-format leaves the lines alone.
 */
#ifndef LARDER_TESTS_RELEVANCE_CATALOG_H
#define LARDER_TESTS_RELEVANCE_CATALOG_H

/* clang-format off */
static const char relevance_catalog[] =
    "{\"sku\":\"VEG-CACHUA\",\"name\":{\"en\":\"Cherry tomatoes\",\"vi\":\"Cà chua bi Đà Lạt\"},\"category\":\"produce/vegetables\",\"brand\":\"Da Lat Farm\",\"price\":35000,\"unit\":\"500g\",\"perishable\":true,\"tags\":[\"organic\"]}\n"
    "{\"sku\":\"VEG-CATIM\",\"name\":{\"en\":\"Eggplant\",\"vi\":\"Cà tím\"},\"category\":\"produce/vegetables\",\"price\":20000,\"unit\":\"500g\",\"perishable\":true}\n"
    "{\"sku\":\"SEA-CATHU\",\"name\":{\"en\":\"Mackerel steaks\",\"vi\":\"Cá thu cắt khúc\"},\"category\":\"seafood/fish\",\"price\":120000,\"unit\":\"500g\",\"perishable\":true}\n"
    "{\"sku\":\"SEA-CACHEP\",\"name\":{\"en\":\"Carp\",\"vi\":\"Cá chép\"},\"category\":\"seafood/fish\",\"price\":50000,\"unit\":\"1kg\",\"perishable\":true}\n"
    "{\"sku\":\"FRZ-CANHCHUA\",\"name\":{\"en\":\"Sour soup with snakehead fish\",\"vi\":\"Canh chua cá lóc\"},\"description\":{\"en\":\"Tamarind broth with tomato, pineapple and bean sprouts.\",\"vi\":\"Nước dùng me với cà chua, dứa và giá.\"},\"category\":\"frozen/ready-meals\",\"brand\":\"Cầu Tre\",\"price\":55000,\"perishable\":false}\n"
    "{\"sku\":\"PAN-TUONGCA\",\"name\":{\"en\":\"Tomato ketchup\",\"vi\":\"Tương cà chua\"},\"category\":\"pantry/sauces\",\"brand\":\"Cholimex\",\"price\":20000,\"unit\":\"250g\",\"perishable\":false}\n"
    "{\"sku\":\"VEG-DAUPHU\",\"name\":{\"en\":\"Silken tofu\",\"vi\":\"Đậu phụ non\"},\"category\":\"produce/vegetables\",\"price\":12000,\"unit\":\"300g\",\"perishable\":true}\n"
    "{\"sku\":\"VEG-DAUTAY\",\"name\":{\"en\":\"Strawberries\",\"vi\":\"Dâu tây Đà Lạt\"},\"category\":\"produce/fruits\",\"brand\":\"Da Lat Farm\",\"price\":80000,\"unit\":\"250g\",\"perishable\":true}\n"
    "{\"sku\":\"PAN-DAUXANH\",\"name\":{\"en\":\"Mung beans\",\"vi\":\"Đậu xanh\"},\"category\":\"pantry/dry-goods\",\"price\":25000,\"unit\":\"500g\",\"perishable\":false}\n"
    "{\"sku\":\"PAN-DAUAN\",\"name\":{\"en\":\"Vegetable cooking oil\",\"vi\":\"Dầu ăn\"},\"category\":\"pantry/cooking-oil\",\"brand\":\"Simply\",\"price\":45000,\"unit\":\"1L\",\"perishable\":false}\n"
    "{\"sku\":\"DAI-SUADAU\",\"name\":{\"en\":\"Strawberry milk\",\"vi\":\"Sữa tươi hương dâu\"},\"category\":\"dairy/milk\",\"brand\":\"Dutch Lady\",\"price\":9000,\"unit\":\"180ml\",\"perishable\":true}\n"
    "{\"sku\":\"DFR-DAUNANH\",\"name\":{\"en\":\"Soy milk\",\"vi\":\"Sữa đậu nành\"},\"category\":\"dairy-free/plant-milk\",\"brand\":\"Vinasoy\",\"price\":6000,\"unit\":\"200ml\",\"perishable\":false,\"tags\":[\"vegan\"]}\n"
    "{\"sku\":\"MEA-THITBO\",\"name\":{\"en\":\"Australian beef\",\"vi\":\"Thịt bò Úc\"},\"category\":\"meat/beef\",\"price\":250000,\"unit\":\"500g\",\"perishable\":true}\n"
    "{\"sku\":\"MEA-BAPBO\",\"name\":{\"en\":\"Beef shank\",\"vi\":\"Bắp bò\"},\"category\":\"meat/beef\",\"price\":160000,\"unit\":\"500g\",\"perishable\":true}\n"
    "{\"sku\":\"VEG-BOSAP\",\"name\":{\"en\":\"Avocado\",\"vi\":\"Bơ sáp Đắk Lắk\"},\"category\":\"produce/fruits\",\"price\":50000,\"unit\":\"1kg\",\"perishable\":true}\n"
    "{\"sku\":\"DAI-BOLAT\",\"name\":{\"en\":\"Unsalted butter\",\"vi\":\"Bơ lạt\"},\"category\":\"dairy/butter\",\"brand\":\"Anchor\",\"price\":75000,\"unit\":\"200g\",\"perishable\":true}\n"
    "{\"sku\":\"DAI-BOBO\",\"name\":{\"en\":\"Grass-fed butter\",\"vi\":\"Bơ lạt bò ăn cỏ\"},\"category\":\"dairy/butter\",\"brand\":\"Kerrygold\",\"price\":110000,\"unit\":\"200g\",\"perishable\":true}\n"
    "{\"sku\":\"VEG-RAUMUONG\",\"name\":{\"en\":\"Water spinach bunch\",\"vi\":\"Rau muống bó\"},\"category\":\"produce/vegetables\",\"price\":15000,\"unit\":\"1 bunch\",\"perishable\":true}\n"
    "{\"sku\":\"VEG-BAPMY\",\"name\":{\"en\":\"Sweet corn\",\"vi\":\"Bắp Mỹ\"},\"category\":\"produce/vegetables\",\"price\":15000,\"unit\":\"3 pcs\",\"perishable\":true}\n"
    "{\"sku\":\"PAN-CHAO\",\"name\":{\"en\":\"Instant rice porridge\",\"vi\":\"Cháo ăn liền\"},\"category\":\"pantry/noodles\",\"brand\":\"Vifon\",\"price\":8000,\"unit\":\"50g\",\"perishable\":false}\n"
    "{\"sku\":\"HOU-CHAO\",\"name\":{\"en\":\"Non-stick frying pan\",\"vi\":\"Chảo chống dính\"},\"category\":\"household/kitchen\",\"brand\":\"Sunhouse\",\"price\":250000,\"unit\":\"26cm\",\"perishable\":false}\n"
    "{\"sku\":\"PET-CHO\",\"name\":{\"en\":\"Dry dog food\",\"vi\":\"Thức ăn hạt cho chó\"},\"category\":\"pets/dog-food\",\"brand\":\"Pedigree\",\"price\":150000,\"unit\":\"1.5kg\",\"perishable\":false}\n"
    "{\"sku\":\"PET-MEO\",\"name\":{\"en\":\"Dry cat food\",\"vi\":\"Thức ăn hạt cho mèo\"},\"category\":\"pets/cat-food\",\"brand\":\"Whiskas\",\"price\":120000,\"unit\":\"1.2kg\",\"perishable\":false}\n"
    "{\"sku\":\"PET-DAYDAT\",\"name\":{\"en\":\"Dog leash\",\"vi\":\"Dây dắt chó\"},\"category\":\"pets/accessories\",\"brand\":\"Pawise\",\"price\":90000,\"unit\":\"1 pc\",\"perishable\":false}\n"
    "{\"sku\":\"MEA-LAPXUONG\",\"name\":{\"en\":\"Cho Lon Chinese sausage\",\"vi\":\"Lạp xưởng Chợ Lớn\"},\"category\":\"meat/sausages\",\"brand\":\"Chợ Lớn\",\"price\":120000,\"unit\":\"500g\",\"perishable\":false}\n"
    "{\"sku\":\"PAN-ME\",\"name\":{\"en\":\"White sesame seeds\",\"vi\":\"Mè trắng\"},\"category\":\"pantry/dry-goods\",\"price\":25000,\"unit\":\"200g\",\"perishable\":false}\n"
    "{\"sku\":\"DAI-SUAME\",\"name\":{\"en\":\"Maternity milk powder\",\"vi\":\"Sữa bột cho mẹ bầu\"},\"category\":\"dairy/milk\",\"brand\":\"Vinamilk\",\"price\":300000,\"unit\":\"400g\",\"perishable\":false}\n"
    "{\"sku\":\"VEG-XOAI\",\"name\":{\"en\":\"Hoa Loc mangoes\",\"vi\":\"Xoài cát Hoà Lộc\"},\"category\":\"produce/fruits\",\"price\":90000,\"unit\":\"1kg\",\"perishable\":true}\n"
    "{\"sku\":\"DRK-CAPHE\",\"name\":{\"en\":\"3-in-1 instant coffee\",\"vi\":\"Cà phê hòa tan 3 trong 1\"},\"category\":\"drinks/coffee\",\"brand\":\"Vinacafé\",\"price\":50000,\"unit\":\"box of 18\",\"perishable\":false}\n"
    "{\"sku\":\"VEG-THUYCANH\",\"name\":{\"en\":\"Hydroponic lettuce\",\"vi\":\"Xà lách thuỷ canh\"},\"category\":\"produce/vegetables\",\"brand\":\"VinEco\",\"price\":30000,\"unit\":\"300g\",\"perishable\":true}\n"
    "{\"sku\":\"DRK-TRASEN\",\"name\":{\"en\":\"Thuy Huong lotus tea\",\"vi\":\"Trà sen Thuý Hương\"},\"category\":\"drinks/tea\",\"price\":120000,\"unit\":\"100g\",\"perishable\":false}\n"
    "{\"sku\":\"PAN-NUOCMAM\",\"name\":{\"en\":\"Phu Quoc fish sauce\",\"vi\":\"Nu\xcc\x9b""o\xcc\x9b""\xcc\x81""c ma\xcc\x86""\xcc\x81""m Phu\xcc\x81"" Quo\xcc\x82""\xcc\x81""c\"},\"category\":\"pantry/sauces\",\"brand\":\"Nam Ngư\",\"price\":60000,\"unit\":\"500ml\",\"perishable\":false}\n"
    "{\"sku\":\"PAN-NUOCTUONG\",\"name\":{\"en\":\"Soy sauce\",\"vi\":\"Nước tương\"},\"category\":\"pantry/sauces\",\"brand\":\"Chinsu\",\"price\":20000,\"unit\":\"500ml\",\"perishable\":false}\n"
    "{\"sku\":\"PAN-MAMTOM\",\"name\":{\"en\":\"Fermented shrimp paste\",\"vi\":\"Mắm tôm\"},\"category\":\"pantry/sauces\",\"price\":25000,\"unit\":\"200g\",\"perishable\":false}\n"
    "{\"sku\":\"DRK-THETHAO\",\"name\":{\"en\":\"Revive sports drink\",\"vi\":\"Nước uống thể thao Revive\"},\"category\":\"drinks/sports\",\"brand\":\"Revive\",\"price\":12000,\"unit\":\"500ml\",\"perishable\":false}\n"
    "{\"sku\":\"PAN-THEBEST\",\"name\":{\"en\":\"The Best jasmine rice\",\"vi\":\"Gạo thơm The Best\"},\"category\":\"pantry/rice\",\"brand\":\"Vinafood\",\"price\":150000,\"unit\":\"5kg\",\"perishable\":false}\n"
    "{\"sku\":\"BAK-SANDWICH\",\"name\":{\"en\":\"Sandwich bread\",\"vi\":\"Bánh mì sandwich\"},\"description\":{\"en\":\"A soft white loaf, the classic for breakfast toast.\",\"vi\":\"Bánh mì trắng mềm, nướng giòn cho bữa sáng.\"},\"category\":\"bakery/bread\",\"brand\":\"Kinh Đô\",\"price\":30000,\"unit\":\"400g\",\"perishable\":true}\n"
    "{\"sku\":\"BAK-TOAST\",\"name\":{\"en\":\"Garlic butter toast\",\"vi\":\"Bánh mì nướng bơ tỏi\"},\"category\":\"bakery/bread\",\"brand\":\"Kinh Đô\",\"price\":25000,\"unit\":\"150g\",\"perishable\":true}\n"
    "{\"sku\":\"PAN-ST25\",\"name\":{\"en\":\"ST25 rice\",\"vi\":\"Gạo ST25 Sóc Trăng\"},\"category\":\"pantry/rice\",\"price\":180000,\"unit\":\"5kg\",\"perishable\":false}\n"
    "{\"sku\":\"SNK-BANHGAO\",\"name\":{\"en\":\"Rice crackers\",\"vi\":\"Bánh gạo\"},\"category\":\"snacks/crackers\",\"brand\":\"One One\",\"price\":20000,\"unit\":\"150g\",\"perishable\":false}\n"
    "{\"sku\":\"DFR-SUAGAO\",\"name\":{\"en\":\"Rice milk\",\"vi\":\"Sữa gạo\"},\"category\":\"dairy-free/plant-milk\",\"price\":30000,\"unit\":\"1L\",\"perishable\":false,\"tags\":[\"vegan\"]}\n"
    "{\"sku\":\"DAI-VNMFRESH\",\"name\":{\"en\":\"UHT fresh milk\",\"vi\":\"Sữa tươi tiệt trùng\"},\"category\":\"dairy/milk\",\"brand\":\"Vinamilk\",\"price\":32000,\"unit\":\"1L\",\"perishable\":true}\n"
    "{\"sku\":\"DAI-VNMYOG\",\"name\":{\"en\":\"Drinking yogurt\",\"vi\":\"Sữa chua uống\"},\"category\":\"dairy/yogurt\",\"brand\":\"Vinamilk\",\"price\":25000,\"unit\":\"4 x 100ml\",\"perishable\":true}\n"
    "{\"sku\":\"DAI-THFRESH\",\"name\":{\"en\":\"Fresh milk\",\"vi\":\"Sữa tươi\"},\"category\":\"dairy/milk\",\"brand\":\"TH true MILK\",\"price\":35000,\"unit\":\"1L\",\"perishable\":true}\n"
    "{\"sku\":\"BAK-BMCB\",\"name\":{\"en\":\"Pork floss bread roll\",\"vi\":\"Bánh mì chà bông\"},\"category\":\"bakery/bread\",\"price\":18000,\"unit\":\"1 pc\",\"perishable\":true}\n"
    "{\"sku\":\"MEA-CHABONG\",\"name\":{\"en\":\"Pork floss\",\"vi\":\"Chà bông heo\"},\"description\":{\"en\":\"Great with bread, rice or porridge.\",\"vi\":\"Ăn kèm bánh mì, cơm hoặc cháo.\"},\"category\":\"meat/deli\",\"brand\":\"Vissan\",\"price\":130000,\"unit\":\"200g\",\"perishable\":false}\n"
    "{\"sku\":\"BAK-BONGLAN\",\"name\":{\"en\":\"Pork floss sponge cake\",\"vi\":\"Bánh bông lan chà bông, bột mì Úc\"},\"category\":\"bakery/cakes\",\"price\":45000,\"unit\":\"1 pc\",\"perishable\":true}\n"
    "{\"sku\":\"SEA-TOMSU\",\"name\":{\"en\":\"Tiger prawns\",\"vi\":\"Tôm sú\"},\"category\":\"seafood/shrimp\",\"price\":180000,\"unit\":\"500g\",\"perishable\":true}\n"
    "{\"sku\":\"FRZ-CHAGIO\",\"name\":{\"en\":\"Fried spring rolls\",\"vi\":\"Chả giò\"},\"description\":{\"en\":\"Crispy rolls with a seafood and pork filling.\",\"vi\":\"Chả giò nhân hải sản và thịt heo.\"},\"category\":\"frozen/ready-meals\",\"brand\":\"Cầu Tre\",\"price\":70000,\"unit\":\"500g\",\"perishable\":false}\n"
    "{\"sku\":\"VEG-CAITHIA\",\"name\":{\"en\":\"Organic bok choy\",\"vi\":\"Cải thìa hữu cơ\"},\"category\":\"produce/vegetables\",\"brand\":\"VinEco\",\"price\":25000,\"unit\":\"300g\",\"perishable\":true,\"tags\":[\"organic\"]}\n"
    "{\"sku\":\"VEG-CHUOI\",\"name\":{\"en\":\"Cavendish banana\",\"vi\":\"Chuối già Nam Mỹ\"},\"category\":\"produce/fruits\",\"price\":30000,\"unit\":\"1kg\",\"perishable\":true}\n"
    "{\"sku\":\"DAI-MOZZA\",\"name\":{\"en\":\"Mozzarella\",\"vi\":\"Phô mai mozzarella\"},\"category\":\"dairy/cheese\",\"brand\":\"Emborg\",\"price\":70000,\"unit\":\"200g\",\"perishable\":true}\n";
/* clang-format on */

#endif
